'use strict'
// A wechaty-style room guard: for each room message, score it through a monitor and reply with
// fanzha's advice when it reaches warn. The handler takes plain message facts, so it fits
// wechaty's `bot.on('message', ...)`:
//
//   const { WechatyBuilder } = require('wechaty')
//   const guard = new Guard()
//   bot.on('message', async (msg) => {
//     const room = msg.room()
//     if (!room) return
//     const reply = guard.handle({ id: msg.id, roomId: room.id, talkerId: msg.talker().id,
//                                  text: msg.text(), time: msg.date().getTime() })
//     if (reply) await room.say(reply)
//   })
//
// Run alone, it replays a recorded room (no network): node examples/wechaty_guard.js

const fs = require('node:fs')
const path = require('node:path')
const { Engine } = require('..')

class Guard {
  constructor(engine = Engine.bundled()) {
    this.monitor = engine.monitor()
  }

  /** The reply to post for this message, or null. */
  handle({ id, roomId, talkerId, text, time }) {
    const verdict = this.monitor.observe({
      kind: 'message', id, ts: time, channel: 'wechat', conversation: roomId, sender: talkerId, text,
    })
    if (!verdict.alert) return null
    const rules = verdict.hits.map((h) => h.rule).join('、')
    return [`⚠️ 反诈提醒：这条消息像是诈骗话术（${rules}）`, ...verdict.advice.map((a) => `· ${a}`)].join('\n')
  }
}

function replay(messages, guard = new Guard()) {
  return messages.map((m) => ({ id: m.id, reply: guard.handle(m) })).filter((r) => r.reply)
}

module.exports = { Guard, replay }

if (require.main === module) {
  const file = process.argv[2] || path.join(__dirname, 'room.jsonl')
  const messages = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  for (const r of replay(messages)) console.log(JSON.stringify(r))
}
