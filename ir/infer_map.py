#!/usr/bin/env python3
"""Rewrite the INFER column of ir/ops.def from the family -> rule map below (in place,
idempotent): `python3 ir/infer_map.py [ir/ops.def]`. Families not listed get `none`.
Rules are ir_infer_<rule> in ir/infer.c."""
import os
import re
import sys

RULES = {
    'same': '''Abs Acos Acosh Asin Asinh Atan Atanh Ceil Celu Cos Cosh Elu Erf Exp Floor Gelu
        HardSigmoid HardSwish Hardmax LeakyRelu Log LogSoftmax Mish Neg Reciprocal Relu Round
        Selu Shrink Sigmoid Sign Sin Sinh Softmax Softplus Softsign Sqrt Tan Tanh
        ThresholdedRelu Swish BitwiseNot Not CumSum CumProd LRN InstanceNormalization
        ml_Binarizer ml_Imputer
        MeanVarianceNormalization LpNormalization GroupNormalization RMSNormalization Clip
        Trilu ReverseSequence RotaryEmbedding''',
    'same_bool': 'IsInf IsNaN RegexFullMatch',
    'bcast': '''Add Sub Mul Div Pow Mod BitShift BitwiseAnd BitwiseOr BitwiseXor Max Min Mean Sum
        PRelu StringConcat''',
    'bcast_bool': 'And Or Xor Equal Greater GreaterOrEqual Less LessOrEqual',
    'where': 'Where',
    'cast': 'Cast CastLike',
    'conv': 'Conv ConvInteger QLinearConv ms_FusedConv DeformConv',
    'conv_transpose': 'ConvTranspose',
    'pool': 'MaxPool AveragePool LpPool',
    'global_pool': 'GlobalAveragePool GlobalMaxPool GlobalLpPool',
    'gemm': 'Gemm ms_FusedGemm',
    'matmul': 'MatMul MatMulInteger QLinearMatMul',
    'matmul_nbits': 'ms_MatMulNBits',
    'batchnorm': 'BatchNormalization',
    'layernorm': 'LayerNormalization',
    'reshape': 'Reshape',
    'flatten': 'Flatten',
    'transpose': 'Transpose',
    'concat': 'Concat',
    'squeeze': 'Squeeze',
    'unsqueeze': 'Unsqueeze',
    'slice': 'Slice',
    'gather': 'Gather',
    'shape': 'Shape',
    'size': 'Size',
    'reduce': '''ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin
        ReduceProd ReduceSum ReduceSumSquare ArgMax ArgMin''',
    'split': 'Split',
    'pad': 'Pad',
    'resize': 'Resize Upsample',
    'identity': 'Identity Dropout',
    'constant': 'Constant',
    'constant_of_shape': 'ConstantOfShape',
    'expand': 'Expand',
    'tile': 'Tile',
    'quantize': 'QuantizeLinear',
    'dequantize': 'DequantizeLinear',
    'attention': 'Attention',
    'einsum': 'Einsum',
    'gather_elements': 'GatherElements',
    'scatter': 'Scatter ScatterElements ScatterND',
    'range': 'Range',
    'topk': 'TopK',
    'onehot': 'OneHot',
    'space_depth': 'SpaceToDepth DepthToSpace',
    'eyelike': 'EyeLike',
    'nonzero': 'NonZero',
    'grid_sample': 'GridSample',
    'loss': 'NegativeLogLikelihoodLoss SoftmaxCrossEntropyLoss',
    'bitcast': 'BitCast',
    'rnn': 'RNN GRU LSTM',
    'if': 'If',
    'loop': 'Loop',
    'scan': 'Scan',
    'same_float': 'ml_Scaler ml_Normalizer',
    'random': 'RandomNormal RandomUniform RandomNormalLike RandomUniformLike Bernoulli',
    'multinomial': 'Multinomial',
    'window': 'HannWindow HammingWindow BlackmanWindow',
    'unique': 'Unique',
    'nms': 'NonMaxSuppression',
    'compress': 'Compress',
    'gather_nd': 'GatherND',
    'det': 'Det',
    'dyn_quantize': 'DynamicQuantizeLinear',
    'roi': 'MaxRoiPool RoiAlign',
    'col2im': 'Col2Im',
    'affine_grid': 'AffineGrid',
    'center_crop_pad': 'CenterCropPad',
    'dft': 'DFT',
    'stft': 'STFT',
    'scalar': 'OptionalHasElement SequenceLength',
    'max_unpool': 'MaxUnpool',
    'string_split': 'StringSplit',
    'string_normalizer': 'StringNormalizer',
    'tfidf': 'TfIdfVectorizer',
    'label_encoder': 'ml_LabelEncoder ml_CategoryMapper',
    'regressor': 'ml_TreeEnsemble ml_TreeEnsembleRegressor ml_LinearRegressor',
    'qc_alloc': 'qc_Alloc',
    'qc_gate': '''qc_H qc_X qc_Y qc_Z qc_S qc_Sdg qc_T qc_Tdg qc_SX qc_SXdg qc_RX qc_RY qc_RZ qc_P
        qc_U qc_CX qc_CY qc_CZ qc_SWAP qc_CRX qc_CRY qc_CRZ qc_CP qc_RXX qc_RZZ qc_CCX qc_Reset
        qc_Barrier''',
    'qc_measure': 'qc_Measure',
    'qc_expval': 'qc_Expval',
    'qc_probs': 'qc_Probs',
    'qc_template': '''qc_AngleEmbedding qc_StronglyEntanglingLayers qc_QAOACost qc_QAOAMixer''',
}
FAMILY = {f: r for r, fams in RULES.items() for f in fams.split()}
ROW = re.compile(r'^(OP\(\s*(\w+)\s*,(?:\s*"[^"]*"\s*,)(?:\s*"[^"]*"\s*,)(?:\s*-?\d+\s*,){5}\s*)(\w+)(\s*,)')


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'ops.def')
    text = open(path, encoding='utf-8').read()
    out, changed = [], 0
    for line in text.split('\n'):
        m = ROW.match(line)
        if m:
            rule = FAMILY.get(m.group(2), 'none')
            if m.group(3) != rule:
                line = m.group(1) + rule + m.group(4) + line[m.end():]
                changed += 1
        out.append(line)
    new = '\n'.join(out)
    if new != text:
        open(path, 'w', encoding='utf-8').write(new)
    print(f'{path}: {changed} rows changed')


if __name__ == '__main__':
    main()
