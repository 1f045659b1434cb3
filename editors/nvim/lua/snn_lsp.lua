-- Start `snnc lsp` for every .snn buffer (Neovim 0.7+; no plugin needed).
-- In init.lua: require("snn_lsp").setup()  -- or setup({ cmd = { "/path/to/snnc", "lsp" } })
local M = {}

function M.setup(opts)
  opts = opts or {}
  local cmd = opts.cmd or { "snnc", "lsp" }
  vim.api.nvim_create_autocmd("FileType", {
    pattern = "snn",
    callback = function(args)
      local file = vim.api.nvim_buf_get_name(args.buf)
      local root = vim.fs and vim.fs.dirname(file) or vim.fn.fnamemodify(file, ":p:h")
      -- one client per root directory
      M.clients = M.clients or {}
      local id = M.clients[root]
      if not id or not vim.lsp.get_client_by_id(id) then
        id = vim.lsp.start_client({ name = "snnc", cmd = cmd, root_dir = root })
        M.clients[root] = id
      end
      if id then
        vim.lsp.buf_attach_client(args.buf, id)
      end
      local map = function(keys, fn) vim.keymap.set("n", keys, fn, { buffer = args.buf }) end
      map("K", vim.lsp.buf.hover)
      map("gd", vim.lsp.buf.definition)
      map("gr", vim.lsp.buf.references)
      map("<leader>rn", vim.lsp.buf.rename)
      map("<leader>ca", vim.lsp.buf.code_action)
      map("<leader>f", function()
        if vim.lsp.buf.format then
          vim.lsp.buf.format()
        else
          vim.lsp.buf.formatting()
        end
      end)
      vim.bo[args.buf].omnifunc = "v:lua.vim.lsp.omnifunc"
    end,
  })
end

return M
