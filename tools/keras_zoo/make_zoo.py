"""Build the Keras model zoo used as an oracle by the snn-keras crate.

Run once per Keras generation (see make_zoo.sh):

    /work/venvs/nengodl/bin/python make_zoo.py --keras 2 --out tests/keras --work /tmp/zoo
    /work/venvs/keras3/bin/python  make_zoo.py --keras 3 --out tests/keras --work /tmp/zoo

The Keras 2 run (TF 2.12, tf.keras) draws random weights and inputs, saves `model.h5`,
`inputs.npz`, `keras_outputs_k2.npz` and `nengodl.json`, and leaves the weights in
`<work>/<model>/weights.npz`.  The Keras 3 run rebuilds the same architecture (same layer
names), loads those weights, saves `model.keras` and `keras_outputs_k3.npz`.

Output files (keys):
  inputs.npz            one float32 array per model input, keyed by the input layer's name,
                        batch 3.
  keras_outputs_k*.npz  out_f32__<i>   i-th model output, model built with floatx=float32
                        out_f64__<i>   i-th model output, same weights and inputs, model
                                       rebuilt with keras floatx=float64
                        layer_f32__<name>, layer_f64__<name>
                                       output of each top-level layer that is called once
                                       (first output tensor), for locating divergences.
Models whose layers TF cannot run on CPU (channels_first Conv/Pool in TF 2.12) get their
outputs from a channels_last twin with the same weights: input transposed to channels_last,
outputs transposed back.  Such models are flagged with "cf_twin": true in `zoo.json`.
"""

import argparse
import json
import os
import re
import shutil
import sys
import traceback
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np  # noqa: E402

ARGS = None
K = None  # keras module
L = None  # keras.layers
KERAS_MAJOR = None

BATCH = 3


# --------------------------------------------------------------------------- helpers


def leaky(alpha, name):
    if KERAS_MAJOR == 2:
        return L.LeakyReLU(alpha=alpha, name=name)
    return L.LeakyReLU(negative_slope=alpha, name=name)


def inp(shape, name):
    return K.Input(shape=shape, name=name)


_CUSTOM = []


def custom_layer_class():
    """A custom layer the importer cannot know: y = x * scale + offset (per feature)."""
    if _CUSTOM:
        return _CUSTOM[0]
    if KERAS_MAJOR == 2:
        register = K.utils.register_keras_serializable
    else:
        register = K.saving.register_keras_serializable

    @register(package="zoo", name="ScaleShift")
    class ScaleShift(L.Layer):
        def __init__(self, offset=1.0, **kwargs):
            super().__init__(**kwargs)
            self.offset = offset

        def build(self, input_shape):
            self.scale = self.add_weight(
                name="scale", shape=(input_shape[-1],), initializer="ones"
            )
            super().build(input_shape)

        def call(self, x):
            return x * self.scale + self.offset

        def get_config(self):
            cfg = super().get_config()
            cfg["offset"] = self.offset
            return cfg

    _CUSTOM.append(ScaleShift)
    return ScaleShift


# --------------------------------------------------------------------------- models
# Each builder takes data_format ("channels_last" normally; the channels_first models are
# also built with "channels_last" for the CPU twin) and returns a keras Model.


def m_dense_seq(df):
    return K.Sequential(
        [
            inp((8,), "x"),
            L.Dense(16, activation="relu", name="d_relu"),
            L.Dense(8, activation="sigmoid", name="d_sigmoid"),
            L.Dense(6, activation="tanh", name="d_tanh"),
            L.Dense(3, activation="linear", name="d_linear"),
            L.Dense(2, name="d_none"),
        ],
        name="dense_seq",
    )


def m_activation_layers(df):
    x = inp((6,), "x")
    h = L.Dense(10, name="d1")(x)
    h = L.Activation("relu", name="act_relu")(h)
    h = L.Dense(10, use_bias=False, name="d2_nobias")(h)
    h = L.ReLU(name="relu_layer")(h)
    h = L.Dense(8, name="d3")(h)
    h = leaky(0.2, "leaky")(h)
    h = L.Dense(8, name="d4")(h)
    h = L.Activation("sigmoid", name="act_sigmoid")(h)
    h = L.Dense(6, name="d5")(h)
    h = L.Activation("tanh", name="act_tanh")(h)
    h = L.Dense(5, name="d6")(h)
    h = L.Activation("linear", name="act_linear")(h)
    h = L.ReLU(negative_slope=0.1, name="relu_slope")(h)
    h = L.Dense(4, name="d7")(h)
    y = L.ReLU(threshold=0.0, name="relu_thresh0")(h)
    return K.Model(x, y, name="activation_layers")


def m_conv2d(df):
    x = inp((9, 8, 2), "img")
    h = L.Conv2D(4, 3, padding="valid", activation="relu", name="c_valid")(x)
    h = L.Conv2D(3, (2, 3), strides=2, padding="same", activation="tanh", name="c_same_s2")(h)
    h = L.Conv2D(5, (3, 2), strides=(2, 1), padding="same", name="c_same_s21")(h)
    h = L.Conv2D(3, 2, strides=(1, 2), padding="valid", activation="sigmoid", name="c_valid_s12")(h)
    h = L.Flatten(name="flat")(h)
    y = L.Dense(3, name="head")(h)
    return K.Model(x, y, name="conv2d")


def m_conv2d_same_even(df):
    # "same" with even kernels and strides: TF pads the extra cell at the end.
    x = inp((7, 10, 3), "img")
    h = L.Conv2D(4, 4, strides=3, padding="same", name="c_k4_s3")(x)
    h2 = L.Conv2D(2, (2, 4), strides=(2, 2), padding="same", activation="relu", name="c_k24_s2")(x)
    h = L.Conv2D(2, 1, strides=1, padding="same", name="c_1x1")(h)
    g1 = L.GlobalAveragePooling2D(name="gap1")(h)
    g2 = L.GlobalAveragePooling2D(name="gap2")(h2)
    y = L.Concatenate(name="cat")([g1, g2])
    return K.Model(x, y, name="conv2d_same_even")


def m_conv2d_groups(df):
    x = inp((6, 7, 4), "img")
    h = L.Conv2D(6, 3, groups=2, padding="same", activation="relu", name="c_g2")(x)
    h = L.Conv2D(4, (2, 2), strides=2, groups=2, name="c_g2_s2")(h)
    h = L.Conv2D(4, 1, groups=4, name="c_g4_1x1")(h)
    y = L.Flatten(name="flat")(h)
    return K.Model(x, y, name="conv2d_groups")


def m_conv1d(df):
    x = inp((11, 3), "seq")
    h = L.Conv1D(4, 3, padding="valid", activation="relu", name="c1_valid")(x)
    h = L.Conv1D(4, 4, strides=2, padding="same", name="c1_same_s2")(h)
    h = L.Conv1D(4, 2, groups=2, name="c1_groups")(h)
    h = L.ZeroPadding1D((2, 1), name="zpad1")(h)
    h = L.AveragePooling1D(2, name="apool1")(h)
    h = L.UpSampling1D(3, name="up1")(h)
    h = L.AveragePooling1D(3, strides=2, padding="same", name="apool1_same")(h)
    g = L.GlobalAveragePooling1D(name="gap1")(h)
    y = L.Dense(2, activation="sigmoid", name="head")(g)
    return K.Model(x, [y, h], name="conv1d")


def m_channels_first(df):
    # Built channels_first for the saved model; a channels_last twin computes outputs on CPU.
    cf = df == "channels_first"
    bn_axis = 1 if cf else -1
    cat_axis = 1 if cf else -1
    shape = (2, 8, 8) if cf else (8, 8, 2)
    x = inp(shape, "img")
    h = L.Conv2D(3, 3, padding="same", data_format=df, activation="relu", name="c_cf")(x)
    h = L.BatchNormalization(axis=bn_axis, epsilon=1e-3, name="bn_cf")(h)
    h = L.ZeroPadding2D(((1, 0), (0, 1)), data_format=df, name="zpad_cf")(h)
    h = L.AveragePooling2D(2, data_format=df, name="apool_cf")(h)
    h2 = L.MaxPooling2D(2, data_format=df, name="mpool_cf")(x)
    h2 = L.Conv2D(3, (2, 2), strides=1, padding="same", data_format=df, name="c_cf2")(h2)
    h = L.Concatenate(axis=cat_axis, name="cat_ch")([h, h2])
    h = L.UpSampling2D((1, 2), data_format=df, name="up_cf")(h)
    g = L.GlobalAveragePooling2D(data_format=df, name="gap_cf")(h)
    y = L.Dense(3, name="head")(g)
    s = L.Conv1D(2, 2, data_format=df, name="c1_cf")(L.Reshape((6, 32) if cf else (32, 6), name="rs")(h))
    # Keras's channels_first Flatten moves channels last first, so the twin's plain Flatten
    # gives the same vector.
    f = L.Flatten(data_format=df, name="flat_cf")(h)
    y2 = L.Dense(2, name="head_flat")(f)
    return K.Model(x, [y, h, s, y2], name="channels_first")


def m_batchnorm(df):
    x = inp((6,), "x")
    h = L.Dense(8, name="d1")(x)
    h = L.BatchNormalization(name="bn_dense")(h)
    h = L.Activation("relu", name="act")(h)
    h = L.Dense(2 * 3 * 4, name="d2")(h)
    h = L.Reshape((2, 3, 4), name="rs")(h)
    h = L.BatchNormalization(axis=-1, epsilon=0.01, name="bn_last")(h)
    h = L.BatchNormalization(axis=1, center=False, name="bn_axis1_nocenter")(h)
    h = L.BatchNormalization(axis=2, scale=False, name="bn_axis2_noscale")(h)
    y = L.Flatten(name="flat")(h)
    return K.Model(x, y, name="batchnorm")


def m_merge_multi_input(df):
    a = inp((5,), "a")
    b = inp((5,), "b")
    c = inp((3,), "c")
    ha = L.Dense(4, activation="relu", name="da")(a)
    hb = L.Dense(4, name="db")(b)
    added = L.Add(name="add")([ha, hb])
    avg = L.Average(name="avg")([ha, hb, added])
    cat = L.Concatenate(name="cat")([avg, c, a])
    y = L.Dense(3, name="head")(cat)
    return K.Model([a, b, c], y, name="merge_multi_input")


def m_multi_output(df):
    x = inp((4, 4, 2), "img")
    h = L.Conv2D(3, 2, activation="relu", name="conv")(x)
    f = L.Flatten(name="flat")(h)
    y1 = L.Dense(2, activation="sigmoid", name="head_a")(f)
    y2 = L.Dense(3, name="head_b")(f)
    return K.Model(x, [y2, h, y1], name="multi_output")


def m_pooling2d(df):
    x = inp((8, 9, 3), "img")
    h = L.AveragePooling2D(2, name="apool")(x)
    h = L.AveragePooling2D(3, strides=1, padding="same", name="apool_same")(h)
    h = L.AveragePooling2D((2, 3), strides=(2, 2), padding="same", name="apool_same_s2")(h)
    m = L.MaxPooling2D(2, padding="same", name="mpool_same")(x)
    m = L.MaxPooling2D((3, 2), strides=(2, 3), name="mpool_valid")(m)
    m = L.ZeroPadding2D(((1, 0), (2, 1)), name="zpad")(m)
    m = L.UpSampling2D((2, 1), name="up")(m)
    g1 = L.GlobalAveragePooling2D(name="gap")(h)
    g2 = L.GlobalAveragePooling2D(name="gap_m")(m)
    y = L.Average(name="avg")([g1, g2])
    return K.Model(x, [y, m], name="pooling2d")


def m_reshape(df):
    x = inp((12,), "x")
    h = L.Dense(24, name="d1")(x)
    h = L.Reshape((4, 6), name="rs_46")(h)
    h = L.Conv1D(3, 2, name="c1")(h)
    h = L.Reshape((-1,), name="rs_flat")(h)
    h = L.Reshape((3, 3, 1), name="rs_331")(h)
    h = L.ZeroPadding2D(1, name="zpad")(h)
    h = L.UpSampling2D(2, name="up")(h)
    h = L.Conv2D(2, 3, strides=2, name="c2")(h)
    y = L.Flatten(name="flat")(h)
    return K.Model(x, y, name="reshape")


def m_dropout(df):
    return K.Sequential(
        [
            inp((7,), "x"),
            L.Dense(9, activation="relu", name="d1"),
            L.Dropout(0.5, name="drop"),
            L.Dense(4, name="d2"),
        ],
        name="dropout",
    )


def m_nested(df):
    inner_seq = K.Sequential(
        [inp((6,), "inner_x"), L.Dense(5, activation="relu", name="dense"), L.Dense(4, name="dense_b")],
        name="inner_seq",
    )
    fi = inp((4,), "fi")
    fh = L.Dense(4, activation="tanh", name="dense")(fi)
    fo = L.Add(name="add")([fh, fi])
    inner_func = K.Model(fi, fo, name="inner_func")
    x = inp((6,), "x")
    h = inner_seq(x)
    h = inner_func(h)
    y = L.Dense(2, name="dense")(h)
    return K.Model(x, y, name="nested")


def m_nested_in_seq(df):
    inner = K.Sequential(
        [inp((5,), "inner_in"), L.Dense(4, activation="relu", name="d"), L.BatchNormalization(name="bn")],
        name="block",
    )
    return K.Sequential([inp((5,), "x"), L.Dense(5, name="pre"), inner, L.Dense(2, name="post")], name="nested_in_seq")


def m_nested_shared(df):
    # One functional sub-model applied to two inputs: its inner layers run twice.
    fi = inp((4,), "fi")
    fh = L.Dense(3, activation="relu", name="d")(fi)
    fo = L.BatchNormalization(name="bn")(fh)
    inner = K.Model(fi, fo, name="block")
    a = inp((4,), "a")
    b = inp((4,), "b")
    ya = inner(a)
    yb = inner(b)
    y = L.Concatenate(name="cat")([ya, L.Add(name="sum")([ya, yb])])
    return K.Model([a, b], [y, yb], name="nested_shared")


def m_shared_layer(df):
    a = inp((4,), "a")
    b = inp((4,), "b")
    shared = L.Dense(3, activation="relu", name="shared")
    ha = shared(a)
    hb = shared(b)
    hc = shared(L.Add(name="ab")([a, b]))
    y = L.Concatenate(name="cat")([ha, hb, hc])
    return K.Model([a, b], y, name="shared_layer")


def m_unsupported_lambda(df):
    x = inp((5,), "x")
    h = L.Dense(4, name="d1")(x)
    h = L.Lambda(lambda t: t * 2.0 + 1.0, name="lam")(h)
    y = L.Dense(2, name="d2")(h)
    return K.Model(x, y, name="unsupported_lambda")


def m_custom_layer(df):
    x = inp((5,), "x")
    h = L.Dense(4, name="d1")(x)
    h = custom_layer_class()(offset=0.5, name="scale_shift")(h)
    y = L.Dense(2, name="d2")(h)
    return K.Model(x, y, name="custom_layer")


def m_softmax_elu(df):
    x = inp((6,), "x")
    h = L.Dense(5, activation="elu", name="d_elu")(x)
    h = L.Dense(5, name="d")(h)
    h = L.Activation("elu", name="act_elu")(h)
    h = L.Dense(4, activation="softmax", name="d_softmax")(h)
    y = L.Activation("softmax", name="act_softmax")(h)
    return K.Model(x, y, name="softmax_elu")


def m_host_layers(df):
    # Layers with no native conversion that snnc runs as `keras_layer` host ops.
    a = inp((6,), "a")
    b = inp((6,), "b")
    ha = L.Dense(8, activation="selu", name="d_selu")(a)
    hb = L.Dense(8, name="db")(b)
    sub = L.Subtract(name="sub")([ha, hb])
    mul = L.Multiply(name="mul")([sub, hb, ha])
    mx = L.Maximum(name="max")([ha, mul])
    mn = L.Minimum(name="min")([sub, mul])
    p = L.PReLU(name="prelu")(mx)
    g = L.Activation("gelu", name="act_gelu")(mn)
    cat = L.Concatenate(name="cat")([p, g])
    h = L.Dense(6, activation="softplus", name="d_softplus")(cat)
    h = L.Dense(6, activation="swish", name="d_swish")(h)
    h = L.Activation("hard_sigmoid", name="act_hard_sigmoid")(h)
    r = L.RepeatVector(3, name="rep")(h)
    pm = L.Permute((2, 1), name="perm")(r)
    c = L.Cropping1D((1, 2), name="crop1")(pm)
    f = L.Flatten(name="flat")(c)
    y = L.Dense(3, activation="exponential", name="d_exp")(f)
    return K.Model([a, b], [y, sub], name="host_layers")


def m_host_layers_img(df):
    # Image layers with no native conversion (host ops), around native convolutions.
    x = inp((8, 9, 3), "img")
    h = L.Conv2D(4, 3, padding="same", activation="selu", name="c_selu")(x)
    h = L.Cropping2D(((1, 0), (2, 1)), name="crop2")(h)
    h = L.Permute((2, 1, 3), name="perm")(h)
    h = L.PReLU(shared_axes=[1, 2], name="prelu_shared")(h)
    h = L.Conv2D(3, 2, dilation_rate=2, name="c_dilated")(h)
    h = L.ReLU(max_value=0.5, name="relu_max")(h)
    g = L.GlobalMaxPooling2D(name="gmp")(h)
    e = L.ELU(alpha=0.7, name="elu_layer")(h)
    s = L.Softmax(axis=1, name="softmax_ax1")(e)
    f = L.Flatten(name="flat")(s)
    y = L.Dense(4, activation="gelu", name="head")(f)
    return K.Model(x, [y, g], name="host_layers_img")


def m_mobilenet(df):
    # keras.applications MobileNet (v1) at 32x32, alpha 0.25, logits (no softmax)
    # (the input named explicitly: Keras 2 and 3 name an application's input differently)
    return K.applications.MobileNet(
        input_tensor=inp((32, 32, 3), "img"), input_shape=(32, 32, 3), alpha=0.25, weights=None, classes=10, classifier_activation=None
    )


def m_mobilenet_v2(df):
    return K.applications.MobileNetV2(
        input_tensor=inp((32, 32, 3), "img"), input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=10, classifier_activation=None
    )


def m_mobile_block(df):
    # The MobileNet-family building blocks on their own: preprocessing layers, ReLU6, depthwise
    # (depth_multiplier 2, strides, dilation) and separable convolutions, squeeze-and-excite
    # (Multiply and Add broadcasting a (1, 1, C) gate), transposed convolutions; the 1-D
    # variants on a second input.
    x = inp((12, 12, 3), "img")
    h = L.Rescaling(2.0, offset=-0.5, name="rescale")(x)
    h = L.Normalization(axis=-1, name="norm")(h)
    h = L.Conv2D(8, 3, padding="same", name="stem")(h)
    h = L.ReLU(6.0, name="stem_relu6")(h)
    h = L.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same", name="dw_s2_dm2")(h)
    h = L.BatchNormalization(name="dw_bn")(h)
    h = L.ReLU(max_value=6.0, name="dw_relu6")(h)
    s = L.GlobalAveragePooling2D(name="se_pool")(h)
    s = L.Dense(4, activation="relu", name="se_reduce")(s)
    s = L.Dense(16, activation="sigmoid", name="se_expand")(s)
    s = L.Reshape((1, 1, 16), name="se_reshape")(s)
    h = L.Multiply(name="se_mul")([h, s])
    h = L.Add(name="se_add")([h, s])
    h = L.SeparableConv2D(12, 3, padding="valid", activation="relu", name="sep")(h)
    h = L.DepthwiseConv2D(2, dilation_rate=2, padding="same", activation="swish", name="dw_dilated")(h)
    h = L.DepthwiseConv2D(3, padding="valid", use_bias=False, name="dw_valid")(h)
    h = L.Conv2DTranspose(6, 3, strides=2, padding="same", name="tconv_same")(h)
    h = L.Conv2DTranspose(4, 2, strides=2, padding="valid", activation="relu", name="tconv_valid")(h)
    h = L.Conv2DTranspose(3, 3, strides=1, padding="valid", name="tconv_s1")(h)
    y = L.Dense(3, activation="gelu", name="head")(L.Flatten(name="flat")(L.AveragePooling2D(4, name="pool")(h)))
    q = inp((10, 4), "seq")
    g = L.DepthwiseConv1D(3, depth_multiplier=2, name="dw1d")(q)
    g = L.LayerNormalization(name="ln")(g)
    g = L.SeparableConv1D(6, 3, strides=2, padding="same", name="sep1d")(g)
    g = L.Conv1DTranspose(3, 3, strides=2, padding="same", activation="relu", name="tconv1d")(g)
    return K.Model([x, q], [y, h, g], name="mobile_block")


def m_recurrent(df):
    # Recurrent layers over the Keras time axis (host ops in snnc, TensorNodes in NengoDL).
    x = inp((6, 4), "seq")
    h = L.SimpleRNN(5, return_sequences=True, name="rnn")(x)
    h = L.GRU(4, return_sequences=True, reset_after=True, name="gru_ra")(h)
    h = L.GRU(4, return_sequences=True, reset_after=False, name="gru_rb")(h)
    h = L.Bidirectional(L.LSTM(3, return_sequences=True), name="bilstm")(h)
    h = L.TimeDistributed(L.Dense(5, activation="relu"), name="td")(h)
    h = L.LayerNormalization(name="ln")(h)
    a = L.LSTM(3, go_backwards=True, name="lstm_last")(h)
    b = L.Bidirectional(L.GRU(2), merge_mode="sum", name="bigru")(h)
    c = L.Concatenate(name="cat")([a, b])
    y = L.Dense(3, activation="swish", name="head")(c)
    return K.Model(x, [y, h], name="recurrent")


def app_classes():
    """The application-internal layer classes: ConvNeXt's LayerScale, InceptionResNetV2's
    CustomScaleLayer."""
    if KERAS_MAJOR == 2:
        from keras.applications.convnext import LayerScale
        from keras.applications.inception_resnet_v2 import CustomScaleLayer

        if K.backend.floatx() == "float64":
            import tensorflow as tf

            # Keras 2's LayerScale makes its variable float32 whatever floatx is; the float64
            # reference run needs it in float64 (the saved float32 model uses the original)
            class LayerScale(LayerScale):  # noqa: F811
                def build(self, _):
                    self.gamma = tf.Variable(self.init_values * tf.ones((self.projection_dim,), tf.float64))
    else:
        from keras.src.applications.convnext import LayerScale
        from keras.src.applications.inception_resnet_v2 import CustomScaleLayer
    return LayerScale, CustomScaleLayer


def m_app_ops(df):
    # What keras.applications builds beyond plain layers: tensor arithmetic with constants
    # (MobileNetV3's hard-swish `x * ReLU6(x + 3) * (1/6)`, RegNet's and ConvNeXt's residual
    # `x + y`; Keras 2 TFOpLambda, Keras 3 keras.src.ops operations), ConvNeXt's LayerScale,
    # LayerNormalization and gelu, InceptionResNetV2's CustomScaleLayer, the swish and
    # hard_sigmoid activations. Layer names differ between the generations (TFOpLambda names).
    LayerScale, CustomScaleLayer = app_classes()
    x = inp((6, 6, 3), "img")
    h = L.Conv2D(8, 3, padding="same", name="stem")(x)
    g = L.ReLU(6.0, name="hs_relu6")(h + 3.0) * (1.0 / 6.0)
    h = L.Multiply(name="hs_mul")([h, g])
    h = (h - 0.25) / 2.0
    r = L.DepthwiseConv2D(3, padding="same", name="dw")(h)
    r = L.LayerNormalization(epsilon=1e-6, name="ln")(r)
    r = L.Dense(12, activation="gelu", name="pw1")(r)
    r = L.Dense(8, name="pw2")(r)
    r = LayerScale(1e-6, 8, name="layer_scale")(r)
    h = h + r
    c = L.Conv2D(8, 1, activation="swish", name="branch")(h)
    h = CustomScaleLayer(0.17, name="custom_scale")([h, c])
    h = L.Activation("hard_sigmoid", name="hsig")(h)
    y = L.Dense(4, name="head")(L.GlobalAveragePooling2D(name="gap")(h))
    return K.Model(x, [y, h], name="app_ops")


MODELS = {
    "dense_seq": m_dense_seq,
    "activation_layers": m_activation_layers,
    "conv2d": m_conv2d,
    "conv2d_same_even": m_conv2d_same_even,
    "conv2d_groups": m_conv2d_groups,
    "conv1d": m_conv1d,
    "channels_first": m_channels_first,
    "batchnorm": m_batchnorm,
    "merge_multi_input": m_merge_multi_input,
    "multi_output": m_multi_output,
    "pooling2d": m_pooling2d,
    "reshape": m_reshape,
    "dropout": m_dropout,
    "nested": m_nested,
    "nested_in_seq": m_nested_in_seq,
    "nested_shared": m_nested_shared,
    "shared_layer": m_shared_layer,
    "unsupported_lambda": m_unsupported_lambda,
    "custom_layer": m_custom_layer,
    "softmax_elu": m_softmax_elu,
    "host_layers": m_host_layers,
    "host_layers_img": m_host_layers_img,
    "mobilenet": m_mobilenet,
    "mobilenet_v2": m_mobilenet_v2,
    "mobile_block": m_mobile_block,
    "recurrent": m_recurrent,
    "app_ops": m_app_ops,
}
CF_TWIN = {"channels_first"}
NO_LAYER_OUTPUTS = {"mobilenet", "mobilenet_v2"}


# --------------------------------------------------------------------------- weights


def walk_layers(model, prefix=""):
    """(path, layer) for every non-model layer, recursing into nested models."""
    for layer in model.layers:
        path = prefix + layer.name
        if isinstance(layer, K.Model):
            yield from walk_layers(layer, path + "/")
        else:
            yield path, layer


def random_weights(model, rng):
    out = {}
    for path, layer in walk_layers(model):
        ws = layer.get_weights()
        names = [w.name for w in layer.weights]
        for i, (w, wname) in enumerate(zip(ws, names)):
            if "moving_variance" in wname:
                v = rng.uniform(0.5, 1.5, w.shape)
            elif "gamma" in wname:
                v = rng.uniform(0.5, 1.5, w.shape)
            elif "moving_mean" in wname or "beta" in wname or "bias" in wname:
                v = rng.uniform(-0.5, 0.5, w.shape)
            elif "alpha" in wname:  # PReLU slopes
                v = rng.uniform(0.1, 0.4, w.shape)
            elif "count" in wname:  # Normalization's integer sample count
                v = np.full(w.shape, 1000)
            elif "depthwise" in wname:  # (k..., C, M): each output sees one channel
                fan_in = int(np.prod(w.shape[:-2]))
                v = rng.normal(0, 1.0 / np.sqrt(fan_in), w.shape) * 1.5
            elif w.ndim >= 2:
                fan_in = int(np.prod(w.shape[:-1]))
                v = rng.normal(0, 1.0 / np.sqrt(fan_in), w.shape) * 1.5
            else:
                v = rng.uniform(0.5, 1.5, w.shape)
            dtype = np.float32 if np.issubdtype(w.dtype, np.floating) else w.dtype
            out[f"{path}::{i}"] = v.astype(dtype)
    return out


def set_weights(model, weights):
    for path, layer in walk_layers(model):
        n = len(layer.get_weights())
        if n:
            # (Keras 2 stores Normalization's count as shape (1,), Keras 3 as a scalar)
            cur = layer.get_weights()
            layer.set_weights([np.reshape(weights[f"{path}::{i}"], cur[i].shape) for i in range(n)])
            if hasattr(layer, "finalize_state"):  # Normalization derives its mean from weights
                layer.finalize_state()


def make_inputs(model, rng):
    res = {}
    for t in model.inputs:
        shape = tuple(int(d) for d in t.shape[1:])
        name = input_name(t)
        res[name] = rng.uniform(-1.0, 1.0, (BATCH,) + shape).astype(np.float32)
    return res


def input_name(t):
    return t._keras_history[0].name


# --------------------------------------------------------------------------- outputs


def build(name, floatx, df="channels_last"):
    K.backend.clear_session()
    if KERAS_MAJOR == 2:
        K.backend.set_floatx(floatx)
    else:
        K.config.set_floatx(floatx)
    return MODELS[name](df)


def to_cl(a):
    return np.moveaxis(a, 1, -1) if a.ndim >= 3 else a


def to_cf(a):
    return np.moveaxis(a, -1, 1) if a.ndim >= 3 else a


def run_outputs(name, weights, inputs, floatx):
    """Predict outputs (and per-layer outputs) with the given floatx."""
    cf = name in CF_TWIN
    model = build(name, floatx, "channels_last")
    set_weights(model, weights)
    np_dtype = np.float64 if floatx == "float64" else np.float32
    feeds = []
    for t in model.inputs:
        a = inputs[input_name(t)].astype(np_dtype)
        feeds.append(to_cl(a) if cf else a)
    outs = model(feeds if len(feeds) > 1 else feeds[0], training=False)
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    outs = [np.asarray(o) for o in outs]
    if cf:
        outs = [to_cf(o) for o in outs]
    res = {}
    suffix = "f64" if floatx == "float64" else "f32"
    for i, o in enumerate(outs):
        assert o.dtype == np_dtype, (o.dtype, np_dtype)
        res[f"out_{suffix}__{i}"] = o
    # Per-layer outputs for top-level layers called once (not for the applications: too large;
    # `snnc verify` locates divergences there).
    if not cf and name not in NO_LAYER_OUTPUTS:
        probes = []
        for layer in model.layers:
            if isinstance(layer, (L.InputLayer, K.Model)):
                continue
            try:
                if len(layer._inbound_nodes) != 1:
                    continue
                o = layer.output
            except Exception:
                continue
            if isinstance(o, (list, tuple)):
                o = o[0]
            probes.append((layer.name, o))
        if probes:
            sub = K.Model(model.inputs, [p[1] for p in probes])
            vals = sub(feeds if len(feeds) > 1 else feeds[0], training=False)
            if not isinstance(vals, (list, tuple)):
                vals = [vals]
            for (lname, _), v in zip(probes, vals):
                res[f"layer_{suffix}__{lname}"] = np.asarray(v)
    return res, model


# --------------------------------------------------------------------------- nengo_dl


def short_error(e):
    """Exception type, message (head and tail when long) and the innermost frame."""
    msg = re.sub(r" at 0x[0-9a-f]+", "", str(e).strip())  # object addresses change every run
    if len(msg) > 600:
        msg = msg[:250] + " [...] " + msg[-300:]
    tb = traceback.extract_tb(e.__traceback__)
    where = ""
    if tb:
        fr = tb[-1]
        where = f" (at {os.path.basename(fr.filename)}:{fr.lineno} in {fr.name})"
    return f"{type(e).__name__}: {msg}{where}"


def nengodl_report(model_path, inputs, custom_objects):
    import nengo_dl
    import tensorflow as tf

    model = tf.keras.models.load_model(model_path, compile=False, custom_objects=custom_objects)
    report = {"nengo_dl_version": nengo_dl.__version__, "tensorflow_version": tf.__version__, "runs": []}
    has_maxpool = any(
        "MaxPool" in type(layer).__name__ for _, layer in walk_layers(model)
    )
    configs = [{"allow_fallback": True}, {"allow_fallback": True, "inference_only": True}]
    if has_maxpool:
        configs.append({"allow_fallback": True, "inference_only": True, "max_to_avg_pool": True})

    act_records = []
    orig = nengo_dl.converter.LayerConverter.add_nengo_obj

    def patched(self, node_id, biases=None, activation=None):
        obj = orig(self, node_id, biases=biases, activation=activation)
        act_records.append((self.layer.name, type(obj).__name__))
        return obj

    nengo_dl.converter.LayerConverter.add_nengo_obj = patched
    try:
        for cfg in configs:
            act_records.clear()
            run = {"converter_args": cfg}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    conv = nengo_dl.Converter(model, **cfg)
                except Exception as e:  # noqa: BLE001
                    run["conversion"] = "exception"
                    run["exception"] = short_error(e)
                    split = {"allow_fallback": True, "inference_only": True, "split_shared_weights": True}
                    if "split_shared_weights" in str(e) and split not in configs:
                        configs.append(split)
                    run["warnings"] = sorted({re.sub(r" at 0x[0-9a-f]+", "", str(w.message)) for w in caught})
                    report["runs"].append(run)
                    continue
                run["conversion"] = "ok"
                layers = []
                for layer, lc in conv._layer_converters.items():
                    layers.append(
                        {
                            "name": layer.name,
                            "class_name": type(layer).__name__,
                            "converter": type(lc).__name__,
                            "native": type(lc).__name__ != "ConvertFallback",
                        }
                    )
                act_by_layer = {}
                for lname, objtype in act_records:
                    act_by_layer.setdefault(lname, set()).add(objtype)
                for entry in layers:
                    if entry["name"] in act_by_layer:
                        objs = sorted(act_by_layer[entry["name"]])
                        entry["nengo_objects"] = objs
                        if entry["native"] and "TensorNode" in objs:
                            entry["activation_fallback"] = True
                run["layers"] = layers
                run["all_native"] = all(
                    e["native"] and not e.get("activation_fallback") for e in layers
                )
                for label, vinp in (("verify_ones", None), ("verify_zoo_inputs", inputs)):
                    try:
                        ok = conv.verify(inputs=vinp)
                        run[label] = "pass" if ok else "fail"
                    except Exception as e:  # noqa: BLE001
                        fail = isinstance(e, ValueError) and "does not match" in str(e)
                        run[label] = "fail" if fail else "exception"
                        run[label + "_message"] = short_error(e)
                run["warnings"] = sorted(
                    {
                        re.sub(r" at 0x[0-9a-f]+", "", str(w.message).splitlines()[0][:300])
                        for w in caught
                        if "GPU" not in str(w.message)
                    }
                )
            report["runs"].append(run)
    finally:
        nengo_dl.converter.LayerConverter.add_nengo_obj = orig
    return report


# --------------------------------------------------------------------------- file variants


def write_legacy_strings(src, dst):
    """Copy a Keras 2 .h5 and rewrite its string attributes as fixed-length byte strings,
    the way older Keras / h5py 2 wrote them."""
    import h5py

    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        groups = [f]
        f.visititems(lambda n, o: groups.append(o) if isinstance(o, h5py.Group) else None)
        for g in groups:
            for k in list(g.attrs.keys()):
                v = g.attrs[k]
                if isinstance(v, str):
                    del g.attrs[k]
                    g.attrs[k] = np.bytes_(v.encode("utf8"))
                elif isinstance(v, np.ndarray) and v.dtype == object:
                    del g.attrs[k]
                    g.attrs[k] = np.array([x.encode("utf8") if isinstance(x, str) else x for x in v], dtype="S")


def write_without_vars_names(src, dst):
    """Copy a .keras archive, dropping the `name` attribute of every `vars` group in
    model.weights.h5 (older Keras 3 releases did not write it)."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(src) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "r+") as f:
        def strip(name, obj):
            if isinstance(obj, h5py.Group) and name.split("/")[-1] == "vars" and "name" in obj.attrs:
                del obj.attrs["name"]
        f.visititems(strip)
        if "vars" in f and "name" in f["vars"].attrs:
            del f["vars"].attrs["name"]
    members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(dst, "w") as zout:
        for n, data in members.items():
            zout.writestr(zipfile.ZipInfo(n, date_time=(2000, 1, 1, 0, 0, 0)), data)


def normalize_keras_zip(path):
    """Make a .keras archive byte-reproducible: fixed member timestamps and save date."""
    import zipfile

    with zipfile.ZipFile(path) as zin:
        members = [(i.filename, i.compress_type, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w") as zout:
        for name, ctype, data in members:
            if name == "metadata.json":
                meta = json.loads(data)
                meta["date_saved"] = "2000-01-01@00:00:00"
                data = json.dumps(meta).encode()
            elif name == "config.json":
                # shared_object_id values are Python object ids; renumber them in order.
                ids = {}

                def renumber(v):
                    if isinstance(v, dict):
                        return {
                            k: (ids.setdefault(x, len(ids) + 1) if k == "shared_object_id" else renumber(x))
                            for k, x in v.items()
                        }
                    if isinstance(v, list):
                        return [renumber(x) for x in v]
                    return v

                data = json.dumps(renumber(json.loads(data))).encode()
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = ctype
            zout.writestr(info, data)


LEGACY_STRINGS = {"dense_seq"}
# Models also saved by Keras 3 in the legacy HDF5 format (Keras 3 config JSON inside an .h5).
K3_LEGACY_H5 = {"nested", "nested_in_seq", "shared_layer", "batchnorm", "conv1d"}
NO_VARS_NAMES = {"nested", "batchnorm", "custom_layer"}


# --------------------------------------------------------------------------- main


def savez(path, arrays):
    np.savez(path, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})


def custom_objects():
    objs = {"ScaleShift": custom_layer_class()}
    try:
        LayerScale, CustomScaleLayer = app_classes()
        objs.update({"LayerScale": LayerScale, "CustomScaleLayer": CustomScaleLayer})
    except ImportError:
        pass
    return objs


def main():
    global ARGS, K, L, KERAS_MAJOR
    p = argparse.ArgumentParser()
    p.add_argument("--keras", type=int, choices=[2, 3], required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--only", nargs="*")
    p.add_argument("--no-nengodl", action="store_true")
    ARGS = p.parse_args()
    KERAS_MAJOR = ARGS.keras
    if KERAS_MAJOR == 2:
        import tensorflow as tf

        K = tf.keras
    else:
        import keras

        K = keras
    L = K.layers
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")

    names = ARGS.only or list(MODELS)
    summary = {}
    for name in names:
        print(f"== {name} (keras {KERAS_MAJOR})", flush=True)
        out_dir = os.path.join(ARGS.out, name)
        work_dir = os.path.join(ARGS.work, name)
        os.makedirs(out_dir, exist_ok=True)
        os.makedirs(work_dir, exist_ok=True)
        seed = sum(ord(c) * (i + 1) for i, c in enumerate(name)) % (2**31)
        rng = np.random.default_rng(seed)
        df = "channels_first" if name in CF_TWIN else "channels_last"

        if KERAS_MAJOR == 2:
            model = build(name, "float32", df)
            weights = random_weights(model, rng)
            inputs = make_inputs(model, rng)
            savez(os.path.join(work_dir, "weights.npz"), weights)
            savez(os.path.join(out_dir, "inputs.npz"), inputs)
        else:
            with np.load(os.path.join(work_dir, "weights.npz")) as f:
                weights = {k: f[k] for k in f.files}
            with np.load(os.path.join(out_dir, "inputs.npz")) as f:
                inputs = {k: f[k] for k in f.files}

        outs = {}
        for floatx in ("float32", "float64"):
            res, _ = run_outputs(name, weights, inputs, floatx)
            outs.update(res)
        savez(os.path.join(out_dir, f"keras_outputs_k{KERAS_MAJOR}.npz"), outs)

        # The saved model: built with the real data_format, float32.
        model = build(name, "float32", df)
        set_weights(model, weights)
        if KERAS_MAJOR == 2:
            path = os.path.join(out_dir, "model.h5")
            model.save(path, save_format="h5", include_optimizer=False)
        else:
            path = os.path.join(out_dir, "model.keras")
            model.save(path)
            normalize_keras_zip(path)
        # Sanity: reload and compare with the computed outputs (not possible for CF on CPU).
        if name not in CF_TWIN:
            kw = {"compile": False, "custom_objects": custom_objects()}
            if KERAS_MAJOR == 3:
                kw["safe_mode"] = False
            re = K.models.load_model(path, **kw)
            feeds = [inputs[input_name(t)] for t in re.inputs]
            ro = re(feeds if len(feeds) > 1 else feeds[0], training=False)
            if not isinstance(ro, (list, tuple)):
                ro = [ro]
            for i, o in enumerate(ro):
                np.testing.assert_allclose(np.asarray(o), outs[f"out_f32__{i}"], rtol=1e-6, atol=1e-6)
        if KERAS_MAJOR == 2 and name in LEGACY_STRINGS:
            write_legacy_strings(path, os.path.join(out_dir, "model_legacy_strings.h5"))
        if KERAS_MAJOR == 3 and name in K3_LEGACY_H5:
            model.save(os.path.join(out_dir, "model_k3.h5"))
        if KERAS_MAJOR == 3 and name in NO_VARS_NAMES:
            write_without_vars_names(path, os.path.join(out_dir, "model_no_vars_names.keras"))
        entry = {"cf_twin": name in CF_TWIN, "n_outputs": sum(k.startswith("out_f32__") for k in outs)}
        if KERAS_MAJOR == 2 and not ARGS.no_nengodl:
            try:
                rep = nengodl_report(path, [inputs[input_name(t)] for t in model.inputs], custom_objects())
            except Exception:  # noqa: BLE001
                rep = {"error": traceback.format_exc().splitlines()[-1]}
            with open(os.path.join(out_dir, "nengodl.json"), "w") as f:
                json.dump(rep, f, indent=1, sort_keys=True)
                f.write("\n")
        summary[name] = entry

    zoo_path = os.path.join(ARGS.out, "zoo.json")
    if os.path.exists(zoo_path):
        with open(zoo_path) as f:
            old = json.load(f)
    else:
        old = {}
    for k, v in summary.items():
        old.setdefault(k, {}).update(v)
    with open(zoo_path, "w") as f:
        json.dump(old, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
