'use strict'
// Canary personal data through the Node binding: nothing of it reaches the console or error
// messages, and with maskPersonalData the verdicts' evidence hides the numbers.
const test = require('node:test')
const assert = require('node:assert')
const path = require('node:path')
const { Engine } = require('..')

const RULES = path.resolve(__dirname, '..', '..', '..', 'tests', 'data', 'privacy', 'numbers.toml')
const PHONE = '13912345678'
const ID_CARD = '11010519491231002X'
const BANK_CARD = '6222021234567890123'
const TEXT = '金丝雀暗号鸮鹦'
const EVENT_ID = 'canary-id-7f3a'
const ACCOUNT = 'acct-canary-9931'
const CANARIES = [PHONE, ID_CARD, BANK_CARD, TEXT, EVENT_ID, ACCOUNT]

const GOOD = [
  { kind: 'message', id: EVENT_ID, sender: ACCOUNT, text: `你先转到${BANK_CARD}，${TEXT}` },
  { kind: 'message', text: `身份证${ID_CARD}，有事打我电话${PHONE}` }
]
const BAD = [
  `{"kind":"message","id":"${EVENT_ID}","text":"${TEXT}${PHONE}"`,
  { kind: 'message', text: Number(PHONE) },
  { kind: `${TEXT}${PHONE}`, text: 'x' },
  { kind: 'transaction', amount: BANK_CARD, payer: ACCOUNT },
  { kind: 'message', text: 'x', ts: ID_CARD }
]

for (const mask of [false, true]) {
  test(`no personal data in the console or errors, maskPersonalData = ${mask}`, () => {
    const logged = []
    const saved = {}
    for (const name of ['log', 'info', 'warn', 'error', 'debug']) {
      saved[name] = console[name]
      console[name] = (...args) => logged.push(args.join(' '))
    }
    const verdicts = []
    const errors = []
    try {
      const engine = Engine.fromPath(RULES)
      engine.maskPersonalData = mask
      assert.strictEqual(engine.maskPersonalData, mask)
      const monitor = engine.monitor()
      for (const event of GOOD.concat(BAD)) {
        for (const call of [(e) => engine.scanEvent(e), (e) => monitor.observe(e)]) {
          try {
            verdicts.push(call(event))
          } catch (e) {
            errors.push(String(e))
          }
        }
      }
      verdicts.push(...engine.scanBatch(GOOD))
      verdicts.push(engine.scan(`有事打我电话${PHONE}`, { sender: ACCOUNT, id: EVENT_ID }))
      try {
        engine.reload('[pack]\nid = "p"\n[[rule]]\nid = "broken"\n')
      } catch (e) {
        errors.push(String(e))
      }
    } finally {
      Object.assign(console, saved)
    }
    assert.strictEqual(errors.length, 2 * BAD.length + 1, errors.join('\n'))
    for (const canary of CANARIES) {
      for (const line of logged.concat(errors)) assert.ok(!line.includes(canary), line)
    }
    const evidence = JSON.stringify(verdicts.map((v) => v.hits.map((h) => h.evidence)))
    const json = verdicts.map((v) => v.json).join('\n')
    for (const number of [PHONE, ID_CARD, BANK_CARD]) {
      assert.strictEqual(evidence.includes(number), !mask, evidence)
      assert.strictEqual(json.includes(number), !mask, json)
    }
    if (mask) assert.ok(evidence.includes('*******5678') && evidence.includes('***************0123'), evidence)
  })
}
