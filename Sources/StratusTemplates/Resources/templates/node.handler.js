'use strict'

// http mode: this process stays up between calls. event.body is the request body (parsed
// JSON when the request is JSON, else text); event.headers, event.method, event.query and
// event.path describe the request. Answer with context.status(code).headers({...}).succeed(body)
// or just return the body. Throw (or context.fail(error)) to answer 500.
module.exports = async (event, context) => {
  return context
    .status(200)
    .headers({ 'Content-Type': 'text/plain; charset=utf-8' })
    .succeed('Hello! You said: ' + event.body)
}
