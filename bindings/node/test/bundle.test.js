'use strict'
// Compiled rule bundles through the Node binding: Engine.fromBundle, engine.toBundle().
const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Engine } = require('..')

const VECTORS = path.resolve(__dirname, '..', '..', '..', 'tests', 'conformance')
const RULES = path.join(VECTORS, 'rules.toml')
// The conformance rules compiled to a bundle, as `fanzha compile` writes them.
const bundle = Engine.fromPath(RULES).toBundle()

// The conformance vectors, byte for byte, through a monitor of `engine`.
function checkVectors (engine, how) {
  const monitor = engine.monitor()
  const events = fs.readFileSync(path.join(VECTORS, 'events.jsonl'), 'utf8').split('\n').filter(Boolean)
  const want = fs.readFileSync(path.join(VECTORS, 'verdicts.jsonl'), 'utf8').split('\n').filter(Boolean)
  assert.ok(events.length === want.length && events.length >= 10)
  events.forEach((event, i) => {
    assert.strictEqual(monitor.observe(JSON.parse(event)).json, want[i], `${how}: event ${i + 1}`)
  })
}

function tempFile (name, bytes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fanzha-node-'))
  const file = path.join(dir, name)
  fs.writeFileSync(file, bytes)
  return file
}

test('toBundle() gives a Buffer with the signature, which loads the same rules', () => {
  assert.ok(Buffer.isBuffer(bundle))
  assert.deepStrictEqual(bundle.subarray(0, 8), Buffer.from([0x89, 0x46, 0x5a, 0x42, 0x0d, 0x0a, 0x1a, 0x0a]))
  const engine = Engine.fromBundle(bundle)
  assert.strictEqual(engine.rulesVersion, 'conformance@1')
  assert.ok(engine.toBundle().equals(bundle))
})

test('the conformance vectors through a bundle: Buffer, Uint8Array, a file path', () => {
  checkVectors(Engine.fromBundle(bundle), 'Buffer')
  checkVectors(Engine.fromBundle(new Uint8Array(bundle)), 'Uint8Array')
  // A view into a larger buffer is read as its own bytes.
  const padded = Buffer.concat([Buffer.from('xxxx'), bundle, Buffer.from('yyyy')])
  checkVectors(Engine.fromBundle(padded.subarray(4, padded.length - 4)), 'a subarray')
  checkVectors(Engine.fromBundle(tempFile('rules.fzb', bundle)), 'a path')
})

test('a flipped byte is refused for its checksum', () => {
  const damaged = Buffer.from(bundle)
  damaged[damaged.length >> 1] ^= 0x01
  assert.throws(() => Engine.fromBundle(damaged), /checksum/)
  const file = tempFile('damaged.fzb', damaged)
  assert.throws(() => Engine.fromBundle(file), (e) => e.message.includes('checksum') && e.message.includes(file))
})

test('truncated bundles, an empty buffer, and a TOML file are refused with the reason', () => {
  assert.throws(() => Engine.fromBundle(bundle.subarray(0, 12)), /truncated/)
  assert.throws(() => Engine.fromBundle(bundle.subarray(0, bundle.length - 50)), /truncated/)
  assert.throws(() => Engine.fromBundle(Buffer.alloc(0)), /not a fanzha rule bundle/)
  assert.throws(
    () => Engine.fromBundle(RULES),
    (e) => e.message.includes('not a fanzha rule bundle') && e.message.includes('TOML') && e.message.includes(RULES)
  )
  assert.throws(() => Engine.fromBundle(path.join(os.tmpdir(), 'no-such-fanzha.fzb')), /no-such-fanzha\.fzb/)
  assert.throws(() => Engine.fromBundle(42))
})

test('the bundled packs round-trip through a bundle', () => {
  const engine = Engine.bundled()
  const again = Engine.fromBundle(engine.toBundle())
  assert.strictEqual(again.rulesVersion, engine.rulesVersion)
  const scam = '老闆，先幫我出伍萬嘅票，錢等陣俾你'
  assert.strictEqual(again.scan(scam).json, engine.scan(scam).json)
  assert.strictEqual(again.scan(scam).level, 'block')
})

test('a monitor keeps a script under way across reloads, reloadPath takes a bundle', () => {
  const lines = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'examples', 'messages.jsonl'), 'utf8')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l))
  const script = lines.filter((e) => ['s1', 's2', 's3'].includes(e.id))
  assert.strictEqual(script.length, 3)
  const engine = Engine.bundled()
  const file = tempFile('rules.fzb', engine.toBundle())
  const broken = tempFile('broken.toml', '[pack]\nid = "x"\n[[rule]]\n')
  const monitor = engine.monitor()
  for (const e of script.slice(0, 2)) assert.ok(!monitor.observe(e).alert, e.id)
  assert.throws(() => engine.reloadPath(broken))
  engine.reloadPath(file)
  assert.ok(!engine.monitor().observe(script[2]).alert, 'a new monitor has not seen the script')
  assert.ok(monitor.observe(script[2]).alert)
  fs.rmSync(path.dirname(file), { recursive: true, force: true })
  fs.rmSync(path.dirname(broken), { recursive: true, force: true })
})
