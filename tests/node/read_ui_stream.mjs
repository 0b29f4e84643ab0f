// Reads an ai-sdk stream the way the AI SDK's own chat transport does, with the `ai`
// package's parser and chunk schema, and prints the assistant message it builds.
//
//   node read_ui_stream.mjs <ai5|ai6|ai7> <url> [json body to POST]
//
// Prints {"message": <UIMessage>, "errors": [...], "invalid": [...]}: the message parts as
// readUIMessageStream assembles them, the stream's error chunks, and any chunk that failed
// the schema (tests/integration/test_ai_sdk_node.py).
const [version, url, body] = process.argv.slice(2);
const ai = await import(version);

const response = await fetch(url, body ? { method: "POST", body, headers: { "Content-Type": "application/json" } } : {});
if (!response.ok) throw new Error(`HTTP ${response.status}`);
const invalid = [];
const chunks = ai
  .parseJsonEventStream({ stream: response.body, schema: ai.uiMessageChunkSchema })
  .pipeThrough(
    new TransformStream({
      transform(part, controller) {
        if (part.success) controller.enqueue(part.value);
        else invalid.push(String(part.error));
      },
    }),
  );
const errors = [];
let message = null;
for await (const snapshot of ai.readUIMessageStream({ stream: chunks, onError: (e) => errors.push(e.message) })) {
  message = snapshot;
}
console.log(JSON.stringify({ version, message, errors, invalid }));
