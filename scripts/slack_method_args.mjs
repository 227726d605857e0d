// Derive the Slack emulator's checks for Web API methods newer than Slack's 2019 OpenAPI spec from the
// request argument types Slack's official Node SDK publishes (@slack/web-api), with the TypeScript
// compiler resolving every `extends`, intersection and Partial<> into the final property list.
//
//   cd $(mktemp -d) && npm install typescript@5 @slack/web-api@8.2.0 && node REPO/scripts/slack_method_args.mjs > REPO/emulator/slack_method_args.json
//
// Output: {"source": ..., "methods": {"chat.startStream": {"channel": {"type": "string", "required": true}, ...}}}
// with types string | number | boolean | array | object (and `enum` for string-literal unions).
import { createRequire } from "module";
import path from "path";

const METHODS = {
  "assistant.threads.setStatus": ["assistant.d.ts", "AssistantThreadsSetStatusArguments"],
  "assistant.threads.setSuggestedPrompts": ["assistant.d.ts", "AssistantThreadsSetSuggestedPromptsArguments"],
  "assistant.threads.setTitle": ["assistant.d.ts", "AssistantThreadsSetTitleArguments"],
  "chat.startStream": ["chat.d.ts", "ChatStartStreamArguments"],
  "chat.appendStream": ["chat.d.ts", "ChatAppendStreamArguments"],
  "chat.stopStream": ["chat.d.ts", "ChatStopStreamArguments"],
};

const require = createRequire(process.cwd() + "/");  // the packages come from where it is run
const ts = require("typescript");
const pkg = path.dirname(require.resolve("@slack/web-api/package.json"));
const version = require("@slack/web-api/package.json").version;
const files = Object.values(METHODS).map(([file]) => path.join(pkg, "dist/types/request", file));
const program = ts.createProgram([...new Set(files)], { strict: true });
const checker = program.getTypeChecker();

function kind(type) {
  const t = checker.getNonNullableType(type);
  if (t.isUnion()) {
    const parts = t.types.map(kind);
    if (parts.every((p) => p.type === "string" && p.enum)) return { type: "string", enum: parts.flatMap((p) => p.enum) };
    if (parts.every((p) => p.type === "boolean")) return { type: "boolean" };
    const types = [...new Set(parts.map((p) => p.type))];
    return types.length === 1 ? { type: types[0] } : { type: "any" };
  }
  if (t.isStringLiteral()) return { type: "string", enum: [t.value] };
  if (t.flags & ts.TypeFlags.String) return { type: "string" };
  if (t.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return { type: "number" };
  if (t.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return { type: "boolean" };
  if (checker.isArrayType(t)) return { type: "array" };
  if (t.flags & ts.TypeFlags.Object) return { type: "object" };
  return { type: "any" };
}

const methods = {};
for (const [method, [file, name]] of Object.entries(METHODS)) {
  const source = program.getSourceFile(path.join(pkg, "dist/types/request", file));
  const symbol = checker.getExportsOfModule(checker.getSymbolAtLocation(source)).find((s) => s.name === name);
  const type = checker.getDeclaredTypeOfSymbol(symbol);
  const args = {};
  for (const prop of checker.getPropertiesOfType(type)) {
    const declaration = prop.valueDeclaration ?? prop.declarations[0];
    const propType = checker.getTypeOfSymbolAtLocation(prop, declaration);
    args[prop.name] = { ...kind(propType), required: (prop.flags & ts.SymbolFlags.Optional) === 0 };
  }
  methods[method] = args;
}
console.log(JSON.stringify({ source: `@slack/web-api ${version} (dist/types/request/*.d.ts)`, methods }, null, 1));
