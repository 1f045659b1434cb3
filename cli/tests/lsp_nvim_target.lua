-- Driven by cli/tests/lsp_nvim.rs: Neovim's LSP client starts `snnc lsp` twice on the same
-- file, without a target and with `init_options = { target = "loihi" }`, and writes the
-- diagnostics each published as JSON to $SNN_OUT.
local out_path = os.getenv("SNN_OUT")
local results = {}

local function diagnostics_with(init_options)
  local file = os.getenv("SNN_FILE")
  vim.cmd("edit " .. file)
  local buf = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(buf)
  local diags = nil
  local client_id = vim.lsp.start_client({
    cmd = { os.getenv("SNNC"), "lsp" },
    root_dir = vim.fn.fnamemodify(file, ":h"),
    init_options = init_options,
    handlers = {
      ["textDocument/publishDiagnostics"] = function(_, result)
        if result.uri == uri then
          diags = result.diagnostics
        end
      end,
    },
  })
  vim.lsp.buf_attach_client(buf, client_id)
  vim.wait(20000, function() return diags ~= nil end, 20)
  vim.lsp.stop_client(client_id)
  vim.wait(2000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20)
  return diags
end

local ok, err = pcall(function()
  results.plain = diagnostics_with(nil)
  results.loihi = diagnostics_with({ target = "loihi" })
end)
results.ok = ok
results.err = err and tostring(err) or nil
local f = io.open(out_path, "w")
f:write(vim.fn.json_encode(results))
f:close()
vim.cmd("qa!")
