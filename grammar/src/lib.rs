//! snn-syntax
