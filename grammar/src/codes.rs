//! The registry of diagnostic codes: one constant per kind of problem, with a one-line meaning.

macro_rules! codes {
    ($($name:ident = $code:literal: $what:literal,)*) => {
        $(#[doc = $what] pub const $name: &str = $code;)*
        /// Every code with its meaning, in order (a test checks each has a broken-program case).
        pub const ALL: &[(&str, &str)] = &[$(($code, $what)),*];
    };
}

codes! {
    SYNTAX = "E0001": "syntax error",
    BAD_LITERAL = "E0002": "a number, unit or string literal that is not valid",
    UNKNOWN_NAME = "E0101": "a name that is not declared",
    DUPLICATE_NAME = "E0102": "a name declared twice in one scope",
    UNKNOWN_NETWORK = "E0103": "instantiating a network that is not defined",
    UNKNOWN_ARGUMENT = "E0104": "an argument or parameter that does not exist",
    MISSING_ARGUMENT = "E0105": "a required argument that is not given",
    WRONG_KIND = "E0106": "an object of the wrong kind for where it is used",
    UNKNOWN_FIELD = "E0107": "a field or member that does not exist",
    IMPORT = "E0108": "an imported file that cannot be found or read",
    RECURSIVE_NETWORK = "E0109": "a network that instantiates itself",
    UNKNOWN_FUNCTION = "E0110": "a function, neuron type or constructor that does not exist",
    DUPLICATE_ARGUMENT = "E0111": "an argument or clause given twice",
    TYPE_MISMATCH = "E0201": "a value of the wrong type or unit",
    SHAPE_MISMATCH = "E0202": "connected objects whose sizes do not agree",
    TRANSFORM_SHAPE = "E0203": "a transform whose shape does not fit its connection",
    CONV_GEOMETRY = "E0204": "convolution or pooling geometry that does not fit the input",
    INDEX_RANGE = "E0205": "an index or slice out of range",
    FUNCTION_SIZE = "E0206": "a function whose output size disagrees with its target",
    BAD_SHAPE = "E0208": "a shape with a dimension that is not a positive integer",
    KERAS_LAYER = "E0209": "a `keras_layer` host function whose class, options, weights or input shapes Keras rejects",
    ALGEBRAIC_LOOP = "E0301": "a cycle of connections with no synapse",
    OUT_OF_RANGE = "E0401": "a parameter value outside its valid range",
    MAX_RATE = "E0402": "a maximum firing rate the neuron type cannot reach",
    INTERCEPT = "E0403": "an intercept outside [-1, 1)",
    WEIGHTS_FILE = "E0501": "a weights file that cannot be read",
    MISSING_TENSOR = "E0502": "a tensor that is not in the weights file",
    TENSOR_SHAPE = "E0503": "a tensor whose shape is not what its use needs",
    EVAL = "E0601": "a constant expression that cannot be evaluated",
    ARITY = "E0603": "a call with the wrong number of arguments",
    BUILD = "E0701": "a model that cannot be built (e.g. an all-zero activity matrix)",
    LIMIT = "E0801": "a program beyond one of snnc's limits (nesting depth, memory a run needs)",
    SHADOWED_CONSTANT = "W0101": "a name that hides a built-in constant (`pi`, `e`, `inf`)",
    HIDDEN_NETWORK = "W0102": "a network defined in a file that also `use`s one of the same name",
}
