" Minimal highlighting for .snn (the language server adds semantic tokens where Neovim
" supports them, 0.9 and later).
if exists("b:current_syntax")
  finish
endif
syntax keyword snnKeyword use as std network input node ensemble layer connect probe config weights seed for in let alias fn
syntax keyword snnClause transform synapse solver eval_points sample_every
syntax keyword snnConstant true false none pi
syntax keyword snnNeuron relu spiking_relu lif lif_rate sigmoid tanh leaky_relu adaptive_lif adaptive_lif_rate izhikevich regular_spiking poisson_spiking
syntax match snnNumber "\<\d\+\(\.\d\+\)\=\([eE][+-]\=\d\+\)\=\(ms\|us\|s\|Hz\|kHz\)\="
syntax region snnString start=+"+ skip=+\\.+ end=+"\|$+
syntax match snnComment "//.*$"
syntax match snnArrow "->"
highlight default link snnKeyword Keyword
highlight default link snnClause Statement
highlight default link snnConstant Constant
highlight default link snnNeuron Type
highlight default link snnNumber Number
highlight default link snnString String
highlight default link snnComment Comment
highlight default link snnArrow Operator
let b:current_syntax = "snn"
