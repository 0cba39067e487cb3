'use strict'
// The Node binding as a wechaty bot uses it: node --test test/
const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { Engine } = require('..')

const ROOT = path.resolve(__dirname, '..', '..', '..')
const RULES = `
[pack]
id = "t"
version = "1"
pinyin = false

[[rule]]
id = "t.print-first"
title = "p"
category = "fake_large_order"
points = 70
advice = ["未收到款项前不要出票"]
when = { any = ["先出票"] }
`
const bundled = Engine.bundled()

test('scan(text, {sender, conversation}) with numeric ids', () => {
  const v = bundled.scan('老闆，先幫我出伍萬嘅票，錢等陣俾你', { sender: 123456789, conversation: 'g1', id: 42 })
  assert.strictEqual(v.level, 'block')
  assert.strictEqual(v.alert, true)
  assert.strictEqual(v.id, '42')
  assert.strictEqual(v.hits[0].rule, 'merchant.print-first')
  assert.deepStrictEqual(v.hits[0].evidence, ['先幫我出伍萬嘅票', '錢等陣俾你'])
  assert.deepStrictEqual(v.hits[0].spans, [[3, 11], [12, 17]])
  assert.ok(v.advice.length > 0)
  assert.strictEqual(bundled.scan('老板来两份酸辣粉').level, 'none')
})

test('events as objects or JSON; bad events throw', () => {
  const v = bundled.scanEvent({ kind: 'transaction', amount: 0.1 + 0.2, memo: '刷单佣金返还' })
  assert.strictEqual(v.hits[0].rule, 'streams.memo-script')
  assert.deepStrictEqual(JSON.parse(v.json).hits[0].rule, 'streams.memo-script')
  assert.strictEqual(bundled.scanEvent('{"kind":"message","id":"m","text":"先出票，钱等下转"}').alert, true)
  for (const bad of [{ kind: 'transaction', amount: -1 }, { kind: 'fax' }, '{nope', { kind: 'message' }]) {
    assert.throws(() => bundled.scanEvent(bad))
  }
})

test('batches keep input order', () => {
  const events = Array.from({ length: 2000 }, (_, i) => ({ kind: 'message', id: String(i), text: i % 3 === 0 ? '先出票，钱等下转' : '你好' }))
  const verdicts = bundled.scanBatch(events)
  assert.deepStrictEqual(verdicts.map((v) => v.id), events.map((e) => e.id))
  assert.deepStrictEqual(verdicts.map((v) => v.alert), events.map((_, i) => i % 3 === 0))
})

test('a monitor catches a scam spread over messages', () => {
  const m = bundled.monitor()
  const texts = ['我们是隔壁项目部的', '这期双色球帮我出三万', '好嘞，钱等下一起结']
  const verdicts = texts.map((text, i) => m.observe({ kind: 'message', id: `s${i}`, ts: 1747612800000 + i * 60000, conversation: 'g', text }))
  assert.deepStrictEqual(verdicts.map((v) => v.alert), [false, false, true])
  assert.ok(texts.every((t) => !bundled.scan(t).alert), 'no single message reaches warn')
  const hit = verdicts[2].hits.find((h) => h.rule === 'streams.big-customer-script')
  assert.deepStrictEqual(hit.events, ['s0', 's1', 's2'])
})

test('rule errors are located; a broken reload keeps the running rules', () => {
  assert.throws(() => Engine.fromStr(RULES.replace('先出票"]', '@nope"]'), 'bot.toml'), /bot\.toml:13:\d+: error\[E003\]/)
  const engine = Engine.fromStr(RULES)
  assert.strictEqual(engine.rulesVersion, 't@1')
  assert.throws(() => engine.reload('[pack]\nid = "t"\nversion = "2"\n[[rule]]\nid = "t.x"\n'))
  assert.strictEqual(engine.scan('先出票').score, 70)
  engine.reload('[pack]\nid = "t"\nversion = "2"\n')
  assert.strictEqual(engine.rulesVersion, 't@2')
  assert.strictEqual(engine.scan('先出票').score, 0)
})

test('conformance vectors', () => {
  const dir = path.join(ROOT, 'tests', 'conformance')
  const m = Engine.fromPath(path.join(dir, 'rules.toml')).monitor()
  const events = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean)
  const want = fs.readFileSync(path.join(dir, 'verdicts.jsonl'), 'utf8').split('\n').filter(Boolean)
  assert.ok(events.length >= 10 && events.length === want.length)
  events.forEach((e, i) => assert.strictEqual(m.observe(JSON.parse(e)).json, want[i], `event ${i + 1}`))
})

test('the same verdicts as fanzha scan on the sample stream', (t) => {
  const exe = path.join(ROOT, 'target', 'release', 'fanzha')
  if (!fs.existsSync(exe)) return t.skip('build the command first: cargo build --release')
  const sample = path.join(ROOT, 'examples', 'messages.jsonl')
  const cli = execFileSync(exe, ['scan', sample], { encoding: 'utf8' }).split('\n').filter(Boolean)
  const m = bundled.monitor()
  const ours = fs.readFileSync(sample, 'utf8').split('\n').filter(Boolean).map((l) => m.observe(l).json)
  assert.deepStrictEqual(ours, cli)
})

test('the wechaty-style guard replays a recorded room', () => {
  const { replay } = require('../examples/wechaty_guard.js')
  const room = fs.readFileSync(path.join(__dirname, '..', 'examples', 'room.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  const replies = replay(room)
  assert.deepStrictEqual(replies.map((r) => r.id), ['w4', 'w6'])
  assert.ok(replies[0].reply.startsWith('⚠️ 反诈提醒') && replies[0].reply.includes('· '))
})

test('the scan_stream script prints what fanzha scan prints', (t) => {
  const exe = path.join(ROOT, 'target', 'release', 'fanzha')
  if (!fs.existsSync(exe)) return t.skip('build the command first: cargo build --release')
  const sample = fs.readFileSync(path.join(ROOT, 'examples', 'messages.jsonl'))
  const ours = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'scan_stream.js')], { input: sample })
  const theirs = execFileSync(exe, ['scan'], { input: sample })
  assert.strictEqual(ours.toString(), theirs.toString())
})
