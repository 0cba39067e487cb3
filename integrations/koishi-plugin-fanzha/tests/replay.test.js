'use strict'
// The sample stream through the plugin, against `fanzha scan` on the same contract events:
// the plugin must answer exactly the messages the command line alerts on, at the same level.

const { describe, it } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { h } = require('koishi')
const { ROOT, startApp, fanzhaBin } = require('./helpers')

const HEADER = { warn: '⚠️ 反诈提醒', block: '🚫 反诈警告' }

describe('replay of examples/messages.jsonl', () => {
  it('answers the messages `fanzha scan` alerts on, and only those', async () => {
    const bin = fanzhaBin()
    const messages = fs.readFileSync(path.join(ROOT, 'examples/messages.jsonl'), 'utf8')
      .split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((e) => e.kind === 'message')
    const conversations = [...new Set(messages.map((m) => m.conversation))]
    const t = await startApp({}, { channels: conversations })
    try {
      const clients = new Map()
      const replies = []
      for (const m of messages) {
        const key = `${m.sender}@${m.conversation}`
        if (!clients.has(key)) clients.set(key, t.client(m.sender, m.conversation))
        const client = clients.get(key)
        // The platform's timestamp: windows and sequences run on the stream's own time.
        client.event.timestamp = Date.parse(m.ts)
        replies.push(await client.receive(h.escape(m.text)))
      }

      assert.equal(t.verdicts.length, messages.length, 'every message was scored')
      const events = t.verdicts.map((v) => v.event)
      events.forEach((e, i) => {
        const m = messages[i]
        assert.deepEqual([e.conversation, e.sender, e.text, e.ts], [m.conversation, m.sender, m.text.trim(), Date.parse(m.ts)])
      })

      const input = events.map((e) => JSON.stringify(e)).join('\n') + '\n'
      const scanned = execFileSync(bin, ['scan', '-'], { input, encoding: 'utf8' })
        .split('\n').filter(Boolean).map((line) => JSON.parse(line))
      assert.equal(scanned.length, messages.length)

      let alerts = 0
      scanned.forEach((verdict, i) => {
        const label = `${messages[i].id} ${messages[i].text}`
        assert.equal(t.verdicts[i].verdict.level, verdict.level, label)
        if (verdict.level === 'warn' || verdict.level === 'block') {
          alerts++
          assert.equal(replies[i].length, 1, `${label}: one reply`)
          assert.ok(replies[i][0].includes(HEADER[verdict.level]), `${label}: ${replies[i][0]}`)
          for (const advice of verdict.advice) assert.ok(replies[i][0].includes(advice), `${label}: ${advice}`)
        } else {
          assert.deepEqual(replies[i], [], `${label}: no reply`)
        }
      })
      assert.ok(alerts >= 10, `the sample stream has alerts (${alerts})`)
      assert.ok(alerts < messages.length, 'and quiet messages')
    } finally {
      await t.stop()
    }
  })
})
