'use strict'
// `fanzha scan` in Node: JSON Lines events in, one verdict per line out, through a monitor.
//
//   node scan_stream.js < events.jsonl > verdicts.jsonl
//
// A line that cannot be read gives {"line":N,"error":"..."} in its place, as the command does.

const readline = require('node:readline')
const { Engine } = require('..')

const monitor = Engine.bundled().monitor()
let n = 0
readline.createInterface({ input: process.stdin, crlfDelay: Infinity }).on('line', (line) => {
  n += 1
  try {
    console.log(monitor.observe(line).json)
  } catch (e) {
    console.log(JSON.stringify({ line: n, error: e.message }))
  }
})
