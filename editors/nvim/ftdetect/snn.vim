" .snn files are the snn language (snnc).
autocmd BufRead,BufNewFile *.snn setfiletype snn
