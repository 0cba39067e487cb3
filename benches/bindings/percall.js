// Per-call cost of scanning one short message from Node, the call a group bot makes for
// every message, beside the bare cost of calling into the addon and beside `scanBatch`.
//
//     node benches/bindings/percall.js [calls]
//
// Needs the addon built in bindings/node (see .ci/run). Prints microseconds per call, the best
// of five rounds.
'use strict'
const { Engine } = require('../../bindings/node')

const MESSAGES = [
  '老板，今天的酸辣粉还有吗',
  '先帮我出两万的票，钱马上转你',
  '晚上几点关门',
  '我是隔壁工地的，订150份盒饭',
]

function bestOf (rounds, calls, fn) {
  let best = Infinity
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < calls; i++) fn(i)
    best = Math.min(best, Number(process.hrtime.bigint() - start) / calls)
  }
  return best / 1000
}

const calls = Number(process.argv[2] || 20000)
const engine = Engine.bundled()
const n = MESSAGES.length
const events = Array.from({ length: calls }, (_, i) => ({ kind: 'message', text: MESSAGES[i % n], sender: String(i) }))
for (let i = 0; i < 40; i++) engine.scan(MESSAGES[i % n])

const rows = [
  ['bare call (a getter)', bestOf(5, calls, () => engine.maskPersonalData)],
  ['engine.scan(text)', bestOf(5, calls, (i) => engine.scan(MESSAGES[i % n]))],
  ['engine.scan(text, {sender, conversation})', bestOf(5, calls, (i) => engine.scan(MESSAGES[i % n], { sender: String(i), conversation: 'g42' }))],
  ['engine.scanEvent(object)', bestOf(5, calls, (i) => engine.scanEvent(events[i]))],
]
const start = process.hrtime.bigint()
engine.scanBatch(events)
rows.push(['engine.scanBatch(array), per event', Number(process.hrtime.bigint() - start) / events.length / 1000])
const bare = rows[0][1]
console.log(`fanzha from Node, ${calls} calls, best of 5 rounds`)
console.log('| call | µs per call | over the bare call |')
console.log('|---|---|---|')
for (const [name, us] of rows) {
  const over = us - bare
  console.log(`| ${name} | ${us.toFixed(2)} | ${over >= 0 ? '+' : ''}${over.toFixed(2)} |`)
}
