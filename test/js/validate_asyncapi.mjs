// Validates an AsyncAPI document with the official parser (@asyncapi/parser).
// Usage: node validate_asyncapi.mjs <file.json>
// Prints every diagnostic; exits 1 if any has error severity, 2 on bad usage.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate_asyncapi.mjs <file.json>");
  process.exit(2);
}
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"));
const names = ["error", "warning", "info", "hint"];
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === 0) errors++;
  console.log(`${names[d.severity] ?? d.severity} ${d.code} at /${d.path.join("/")}: ${d.message}`);
}
if (!document) errors = Math.max(errors, 1);
console.log(`${errors} error(s), ${diagnostics.length - errors} other diagnostic(s)`);
if (document) {
  const channels = document.channels().all().map((c) => c.id());
  const operations = document.operations().all().map((o) => `${o.id()}:${o.action()}`);
  console.log(JSON.stringify({ channels, operations }));
}
process.exit(errors ? 1 : 0);
