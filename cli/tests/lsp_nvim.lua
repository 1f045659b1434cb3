-- Driven by cli/tests/lsp_nvim.rs: Neovim's built-in LSP client (0.7) starts `snnc lsp` on a
-- copy of examples/integrator.snn, waits for diagnostics, asks for hover, definition,
-- completion, references, document symbols, quick fixes (a name, a transform, a unit) and
-- formatting, and writes what it
-- got as JSON to $SNN_OUT.
local out_path = os.getenv("SNN_OUT")
local results = {}

local function run()
  local file = os.getenv("SNN_FILE")
  vim.cmd("edit " .. file)
  local buf = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(buf)
  local diags = nil
  local client_id = vim.lsp.start_client({
    cmd = { os.getenv("SNNC"), "lsp" },
    root_dir = vim.fn.fnamemodify(file, ":h"),
    handlers = {
      ["textDocument/publishDiagnostics"] = function(_, result)
        if result.uri == uri then
          diags = result.diagnostics
        end
      end,
    },
  })
  results.started = client_id ~= nil
  vim.lsp.buf_attach_client(buf, client_id)
  results.got_diagnostics = vim.wait(20000, function() return diags ~= nil end, 20)
  results.initial_diagnostics = diags

  -- the 0-based line and column of the first `pattern` (plain text), plus `shift`
  local function find(pattern, shift)
    local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    for i, l in ipairs(lines) do
      local s = string.find(l, pattern, 1, true)
      if s then
        return { line = i - 1, character = s - 1 + (shift or 0) }
      end
    end
    return { line = 0, character = 0 }
  end
  local function request(method, params)
    local res, err = vim.lsp.buf_request_sync(buf, method, params, 20000)
    if not res or not res[client_id] then
      return { error = tostring(err) }
    end
    return res[client_id]
  end
  local function at(pattern, shift)
    return { textDocument = { uri = uri }, position = find(pattern, shift) }
  end

  results.hover = request("textDocument/hover", at("integrator(n", 2))
  results.definition = request("textDocument/definition", at("integ.input", 7))
  results.completion = request("textDocument/completion", at("integ.input", 6))
  local refs = at("node step", 6)
  refs.context = { includeDeclaration = true }
  results.references = request("textDocument/references", refs)
  results.symbols = request("textDocument/documentSymbol", { textDocument = { uri = uri } })

  -- an edit (sent incrementally by Neovim) with a misspelt member: a diagnostic and its fix
  local last = vim.api.nvim_buf_line_count(buf)
  diags = nil
  vim.api.nvim_buf_set_lines(buf, last, last, false, { "probe   extra=integ.outptu  synapse 5ms" })
  results.got_error = vim.wait(20000, function() return diags ~= nil and #diags > 0 end, 20)
  results.error_diagnostics = diags
  if diags and #diags > 0 then
    results.code_actions = request("textDocument/codeAction", {
      textDocument = { uri = uri },
      range = diags[1].range,
      context = { diagnostics = diags },
    })
    local actions = results.code_actions.result or {}
    if actions[1] and actions[1].edit then
      vim.lsp.util.apply_workspace_edit(actions[1].edit, "utf-16")
    end
  end
  diags = nil
  results.fixed = vim.wait(20000, function() return diags ~= nil and #diags == 0 end, 20)

  -- sizes that do not match and a frequency where a time belongs: apply the first fix of each
  last = vim.api.nvim_buf_line_count(buf)
  diags = nil
  vim.api.nvim_buf_set_lines(buf, last, last, false,
    { "node wide: [2]", "connect step -> wide", "probe w = wide sample_every 2Hz" })
  results.got_two = vim.wait(20000, function() return diags ~= nil and #diags == 2 end, 20)
  results.two_diagnostics = diags
  results.fix_titles = {}
  for _ = 1, 2 do
    if not diags or #diags == 0 then break end
    local d = diags[1]
    local n = #diags
    local res = request("textDocument/codeAction", {
      textDocument = { uri = uri },
      range = d.range,
      context = { diagnostics = { d } },
    })
    local actions = res.result or {}
    table.insert(results.fix_titles, actions[1] and actions[1].title or "none")
    if actions[1] and actions[1].edit then
      vim.lsp.util.apply_workspace_edit(actions[1].edit, "utf-16")
    end
    vim.wait(20000, function() return diags ~= nil and #diags < n end, 20)
  end
  results.all_fixed = diags ~= nil and #diags == 0

  local formatted = request("textDocument/formatting", {
    textDocument = { uri = uri },
    options = { tabSize = 4, insertSpaces = true },
  })
  results.formatting = formatted
  if formatted.result then
    vim.lsp.util.apply_text_edits(formatted.result, buf, "utf-16")
  end
  results.buffer = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  vim.lsp.stop_client(client_id)
end

local ok, err = pcall(run)
results.ok = ok
results.err = err and tostring(err) or nil
vim.fn.writefile({ vim.fn.json_encode(results) }, out_path)
vim.cmd("qa!")
