-- KernelScript in Neovim (0.7 and later): starts `ksc lsp` for every
-- buffer of filetype `kernelscript` (see ftdetect/), one server per
-- Neovim, without nvim-lspconfig.
--
--   set runtimepath+=/path/to/ksc/editors/nvim
--   lua require('kernelscript').setup()
--
-- Options: cmd (default { 'ksc', 'lsp' }), on_attach (function(client,
-- bufnr)), capabilities.
local M = {}

local client_id = nil

local function start(opts)
  if client_id and vim.lsp.get_client_by_id(client_id) then
    return client_id
  end
  client_id = vim.lsp.start_client({
    name = 'ksc',
    cmd = opts.cmd or { 'ksc', 'lsp' },
    root_dir = vim.fn.getcwd(),
    on_attach = opts.on_attach,
    capabilities = opts.capabilities,
  })
  return client_id
end

function M.setup(opts)
  opts = opts or {}
  local group = vim.api.nvim_create_augroup('kernelscript_lsp', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'kernelscript',
    callback = function(args)
      local id = start(opts)
      if id then
        vim.lsp.buf_attach_client(args.buf, id)
      end
    end,
  })
end

return M
