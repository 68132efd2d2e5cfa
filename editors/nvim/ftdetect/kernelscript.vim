" KernelScript programs (.ks) and headers (.kh). Vim's own detection calls
" .ks files `kscript`: this overrides it.
autocmd BufRead,BufNewFile *.ks,*.kh set filetype=kernelscript
