//! Constructor arguments, taken one by one by name or position, with typed readers.

use crate::resolve::Elab;
use crate::value::{Ctor, CtorArg, Unit, Value};
use ndarray::ArrayD;
use snn_syntax::{codes, Diagnostic, Span};

/// The arguments of a constructor, taken one by one; leftovers are reported by [`Args::finish`].
pub(crate) struct Args {
    named: Vec<CtorArg>,
    pub(crate) positional: Vec<CtorArg>,
    spans: Vec<(String, Span)>,
    ctor_name: String,
    ctor_span: Span,
}

impl Args {
    /// Collect `c`'s arguments, reporting unknown and duplicate names against `allowed`.
    pub(crate) fn new(el: &mut Elab<'_>, c: &Ctor, allowed: &[&str]) -> Option<Args> {
        let mut named: Vec<CtorArg> = Vec::new();
        let mut positional = Vec::new();
        let mut ok = true;
        for a in &c.args {
            match &a.name {
                None => positional.push(a.clone()),
                Some(n) => {
                    if !allowed.contains(&n.as_str()) {
                        let mut d = Diagnostic::error(
                            codes::UNKNOWN_ARGUMENT,
                            format!("`{}` has no argument `{n}`", c.name),
                            a.span,
                            "unknown argument",
                        );
                        d = d.with_help(
                            match snn_syntax::diag::did_you_mean(n, allowed.iter().copied()) {
                                Some(g) => format!("did you mean `{g}`?"),
                                None => format!("its arguments are: {}", allowed.join(", ")),
                            },
                        );
                        el.diags.push(d);
                        ok = false;
                    } else if let Some(prev) = named.iter().find(|p| p.name.as_ref() == Some(n)) {
                        el.diags.push(
                            Diagnostic::error(
                                codes::DUPLICATE_ARGUMENT,
                                format!("argument `{n}` is given twice"),
                                a.span,
                                "given again",
                            )
                            .with_label(prev.span, "first given here"),
                        );
                        ok = false;
                    } else {
                        named.push(a.clone());
                    }
                }
            }
        }
        let spans =
            named.iter().filter_map(|a| a.name.clone().map(|n| (n, a.value_span))).collect();
        ok.then_some(Args {
            named,
            positional,
            spans,
            ctor_name: c.name.clone(),
            ctor_span: c.span,
        })
    }

    /// Where the constructor call is written.
    pub(crate) fn ctor_span(&self) -> Span {
        self.ctor_span
    }

    /// Remove and return the named argument `name`.
    pub(crate) fn take(&mut self, name: &str) -> Option<CtorArg> {
        let i = self.named.iter().position(|a| a.name.as_deref() == Some(name))?;
        Some(self.named.remove(i))
    }

    /// The names of the named arguments starting with `prefix`, in the order written.
    pub(crate) fn names_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.named.iter().filter_map(|a| a.name.clone()).filter(|n| n.starts_with(prefix)).collect()
    }

    /// Where argument `name` was written.
    pub(crate) fn span_of(&self, name: &str) -> Option<Span> {
        self.spans.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }

    /// An optional number in `unit` (or a plain number).
    pub(crate) fn opt_num(&mut self, el: &mut Elab<'_>, name: &str, unit: Unit) -> Option<f64> {
        let a = self.take(name)?;
        match a.value {
            Value::Num(x, u) if u == unit || u == Unit::One => Some(x),
            other => {
                el.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("`{name}` expects {}, found {}", unit.describe(), other.describe()),
                    a.value_span,
                    "wrong type",
                ));
                None
            }
        }
    }

    /// A required positive number in `unit` (or a plain number).
    pub(crate) fn req_positive(
        &mut self,
        el: &mut Elab<'_>,
        name: &str,
        unit: Unit,
    ) -> Option<f64> {
        let span = self.span_of(name);
        match self.opt_num(el, name, unit) {
            Some(x) if x > 0.0 && x.is_finite() => Some(x),
            Some(x) => {
                el.diags.push(Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!("`{name}` must be positive and finite, found {x}"),
                    span.unwrap_or(self.ctor_span),
                    "not positive",
                ));
                None
            }
            None => {
                if span.is_none() {
                    el.diags.push(self.missing(name));
                }
                None
            }
        }
    }

    /// The error for a required argument `name` not given.
    pub(crate) fn missing(&self, name: &str) -> Diagnostic {
        Diagnostic::error(
            codes::MISSING_ARGUMENT,
            format!("`{}` needs argument `{name}`", self.ctor_name),
            self.ctor_span,
            format!("`{name}` not given"),
        )
    }

    /// An optional non-negative whole number.
    pub(crate) fn opt_count(&mut self, el: &mut Elab<'_>, name: &str) -> Option<usize> {
        let a = self.take(name)?;
        match a.value {
            Value::Num(x, Unit::One) if x >= 0.0 && x.fract() == 0.0 && x < 1e12 => {
                Some(x as usize)
            }
            Value::Num(x, Unit::One) if x >= 1e12 && x.fract() == 0.0 => {
                el.diags.push(
                    Diagnostic::error(
                        codes::OUT_OF_RANGE,
                        format!(
                            "`{name}` may be at most 999999999999, found {}",
                            snn_syntax::diag::number(x)
                        ),
                        a.value_span,
                        "too large",
                    )
                    .with_help(
                        "counts are below 10^12; the memory budget (E0801) limits the model",
                    ),
                );
                None
            }
            other => {
                let what = match other {
                    Value::Num(x, _) => snn_syntax::diag::number(x),
                    o => o.describe(),
                };
                el.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("`{name}` must be a non-negative whole number, found {what}"),
                    a.value_span,
                    "not a count",
                ));
                None
            }
        }
    }

    /// A required non-negative whole number.
    pub(crate) fn req_count(&mut self, el: &mut Elab<'_>, name: &str) -> Option<usize> {
        let given = self.span_of(name).is_some();
        let res = self.opt_count(el, name);
        if res.is_none() && !given {
            el.diags.push(self.missing(name));
        }
        res
    }

    /// An optional boolean.
    pub(crate) fn opt_bool(&mut self, el: &mut Elab<'_>, name: &str) -> Option<bool> {
        let a = self.take(name)?;
        el.bool_value(name, a.value, a.value_span)
    }

    /// A required array, named or at position `pos`.
    pub(crate) fn req_array(
        &mut self,
        el: &mut Elab<'_>,
        name: &str,
        pos: usize,
    ) -> Option<ArrayD<f64>> {
        let a = match self.take(name) {
            Some(a) => a,
            None if pos < self.positional.len() => self.positional.remove(pos),
            None => {
                el.diags.push(self.missing(name));
                return None;
            }
        };
        match a.value {
            Value::Array(arr) => Some(arr),
            other => {
                el.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("`{name}` expects an array, found {}", other.describe()),
                    a.value_span,
                    "not an array",
                ));
                None
            }
        }
    }

    /// Report arguments nobody took.
    pub(crate) fn finish(self, el: &mut Elab<'_>) {
        for a in self.positional {
            el.diags.push(
                Diagnostic::error(
                    codes::ARITY,
                    format!("`{}` takes named arguments here", self.ctor_name),
                    a.span,
                    "unexpected positional argument",
                )
                .with_help("write `name = value`"),
            );
        }
        for a in self.named {
            let n = a.name.unwrap_or_default();
            el.diags.push(Diagnostic::error(
                codes::UNKNOWN_ARGUMENT,
                format!("argument `{n}` does not apply to `{}` here", self.ctor_name),
                a.span,
                "not used",
            ));
        }
    }
}

impl Elab<'_> {
    /// The value of `name`, true or false (reported at `span` otherwise).
    pub(crate) fn bool_value(&mut self, name: &str, v: Value, span: Span) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(b),
            other => {
                self.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("`{name}` is true or false, found {}", other.describe()),
                    span,
                    "not a boolean",
                ));
                None
            }
        }
    }
}
