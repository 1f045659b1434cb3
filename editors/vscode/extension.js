// The VS Code client: starts `snnc lsp` (the path is the `snn.server.path` setting) for .snn files.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("snn").get("server.path") || "snnc";
  const server = { command, args: ["lsp"], transport: TransportKind.stdio };
  client = new LanguageClient(
    "snn",
    "snn language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "snn" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
