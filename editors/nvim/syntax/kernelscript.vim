" Vim syntax file for KernelScript (docs/editors.md). The language server
" (`ksc lsp`) adds semantic highlighting on top of this.
if exists('b:current_syntax')
  finish
endif

syntax keyword ksKeyword fn var const config local pin type struct enum impl extern include import pub priv as sizeof new delete
syntax keyword ksControl if else while loop for in break continue return try catch throw defer match default
syntax keyword ksBoolean true false
syntax keyword ksConstant null none
syntax keyword ksType u8 u16 u32 u64 i8 i16 i32 i64 bool char void str
syntax match ksAttribute /@[A-Za-z_][A-Za-z0-9_]*/
syntax match ksNumber /\<0x[0-9A-Fa-f_]\+\>\|\<0b[01_]\+\>\|\<[0-9][0-9_]*\>/
syntax match ksFunction /\<[A-Za-z_][A-Za-z0-9_]*\ze\s*(/
syntax region ksString start=/"/ skip=/\\\\\|\\"/ end=/"/ contains=ksEscape,ksFormat
syntax match ksEscape /\\./ contained
syntax match ksFormat /%[-0-9]*l\{0,2}[dusxXcp%]/ contained
syntax match ksChar /'\\\?.'/
syntax keyword ksTodo TODO FIXME XXX contained
syntax match ksComment /\/\/.*$/ contains=ksTodo
syntax region ksComment start=/\/\*/ end=/\*\// contains=ksTodo

highlight default link ksKeyword Keyword
highlight default link ksControl Conditional
highlight default link ksBoolean Boolean
highlight default link ksConstant Constant
highlight default link ksType Type
highlight default link ksAttribute PreProc
highlight default link ksNumber Number
highlight default link ksFunction Function
highlight default link ksString String
highlight default link ksEscape SpecialChar
highlight default link ksFormat SpecialChar
highlight default link ksChar Character
highlight default link ksTodo Todo
highlight default link ksComment Comment

let b:current_syntax = 'kernelscript'
