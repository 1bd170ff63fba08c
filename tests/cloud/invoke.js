// Runs one cloud function's main(event) the way the cloud does, and prints what it returned as one JSON line
// prefixed with RESULT, so that the caller can tell it from the function's own console output.
// Usage: node invoke.js FUNCTION_DIR [EVENT_JSON]
const path = require('path')

const [, , functionDir, eventJson] = process.argv
const fn = require(path.resolve(functionDir, 'index.js'))
const event = eventJson ? JSON.parse(eventJson) : {}

fn.main(event, {}).then(
  (result) => {
    console.log('RESULT ' + JSON.stringify(result))
  },
  (err) => {
    console.log('RESULT ' + JSON.stringify({ uncaught: String(err) }))
    process.exitCode = 1
  }
)
