'use strict'
// What the channel sees: scams answered with fanzha's advice, everything else quiet.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { Engine } = require('fanzha')
const fanzha = require('..')
const { startApp, tmpDir } = require('./helpers')

const SCAM = '老板，我是做工程的，先帮我出五万的票，钱马上转你'
const POLICE = '民警提醒：冒充大客户让你先出票的都是骗子，千万别信'
const CHATTER = '来两份酸辣粉'
// From examples/messages.jsonl (s1..s3): mild one by one, an alert together.
const SCRIPT = ['老板你好，我们是隔壁项目部的', '这期双色球帮我出三万', '好嘞，钱等下一起结']

describe('group messages', () => {
  let t
  before(async () => { t = await startApp() })
  after(() => t.stop())

  it('answers a print-first scam with a quote and fanzha\'s advice', async () => {
    const expected = Engine.bundled().scan(SCAM)
    assert.ok(expected.alert, `the bundled packs should alert on the scam: ${expected.json}`)
    const replies = await t.client('u1').receive(SCAM)
    assert.equal(replies.length, 1, `one reply: ${JSON.stringify(replies)}`)
    const { session } = t.verdicts.at(-1)
    assert.ok(replies[0].startsWith(`<quote id="${session.messageId}"/>`), replies[0])
    for (const advice of expected.advice) assert.ok(replies[0].includes(`· ${advice}`), advice)
  })

  it('catches a script spread over three messages in one channel', async () => {
    const monitor = Engine.bundled().monitor()
    const expected = SCRIPT.map((text, i) => monitor.observe({ kind: 'message', id: `s${i}`, conversation: 'g2', sender: 'u7', text }))
    assert.deepEqual(expected.map((v) => v.alert), [false, false, true])
    assert.ok(expected[2].hits.some((hit) => hit.events.length > 1), 'a stateful hit')

    const client = t.client('u7', 'g2')
    await t.app.mock.initChannel('g2')
    assert.deepEqual(await client.receive(SCRIPT[0]), [])
    assert.deepEqual(await client.receive(SCRIPT[1]), [])
    const replies = await client.receive(SCRIPT[2])
    assert.equal(replies.length, 1)
    for (const advice of expected[2].advice) assert.ok(replies[0].includes(advice), advice)
    const last = t.verdicts.at(-1).verdict
    assert.equal(last.level, expected[2].level)
    assert.deepEqual(last.hits.map((hit) => [hit.rule, hit.events.length]), expected[2].hits.map((hit) => [hit.rule, hit.events.length]))
  })

  it('stays quiet on a police anti-fraud warning', async () => {
    await t.client('u2').shouldNotReply(POLICE)
    assert.equal(t.verdicts.at(-1).event.text, POLICE, 'the message was scored')
    assert.ok(!t.verdicts.at(-1).verdict.alert)
  })

  it('stays quiet on chatter', async () => {
    await t.client('u3').shouldNotReply(CHATTER)
    assert.equal(t.verdicts.at(-1).event.text, CHATTER, 'the message was scored')
  })

  it('scores only the text of a message, not mentions or the quoted message', async () => {
    await t.client('u3').shouldNotReply(`<quote id="99">${SCAM}</quote><at id="u1"/> ${CHATTER}`)
    assert.equal(t.verdicts.at(-1).event.text, CHATTER)
  })

  it('builds the contract event from the session', async () => {
    await t.client('u4').receive(CHATTER)
    const { session, event } = t.verdicts.at(-1)
    assert.deepEqual(event, {
      kind: 'message', id: session.messageId, ts: event.ts, channel: 'mock',
      conversation: 'g1', sender: 'u4', text: CHATTER,
    })
    assert.equal(typeof event.ts, 'number')
  })

  it('ignores the bot\'s own messages', async () => {
    const before = t.verdicts.length
    const sends = []
    const send = t.bot.sendMessage
    t.bot.sendMessage = (...args) => { sends.push(args); return send.apply(t.bot, args) }
    try {
      // The bot's own scam-like message, as an adapter would report it.
      const client = t.client('u5')
      t.app.mock.receive({ ...client.event, user: { id: t.bot.selfId }, message: { id: 'self-1', content: SCAM } })
      // A later message from a user: its replies settle once the pipeline has run.
      assert.deepEqual(await client.receive(CHATTER), [])
    } finally {
      t.bot.sendMessage = send
    }
    assert.deepEqual(sends, [])
    assert.deepEqual(t.verdicts.slice(before).map((v) => v.event.text), [CHATTER])
  })
})

describe('the middleware alone', () => {
  // Koishi drops the bot's own messages before middleware; the plugin checks again for
  // adapters that report them otherwise. A stand-in context reaches the middleware directly.
  function standIn() {
    const ctx = { baseDir: tmpDir(), emitted: [], emit: (name, payload) => ctx.emitted.push(payload) }
    ctx.middleware = (fn) => { ctx.mw = fn }
    ctx.logger = () => ({ warn: (...args) => assert.fail(`unexpected warning: ${args.join(' ')}`) })
    const chain = { subcommand: () => chain, action: () => chain }
    ctx.command = () => chain
    fanzha.apply(ctx, fanzha.Config({ dataFile: 'channels.json' }))
    return ctx
  }
  const session = (over) => ({
    platform: 'x', selfId: 'bot', userId: 'u1', guildId: 'g', channelId: 'g', messageId: 'm1',
    isDirect: false, content: SCAM, elements: undefined, sent: [],
    send(content) { this.sent.push(content) }, ...over,
  })

  it('ignores the bot\'s own message and passes it on', async () => {
    const ctx = standIn()
    const s = session({ userId: 'bot' })
    let nexts = 0
    await ctx.mw(s, () => { nexts++ })
    assert.equal(nexts, 1)
    assert.deepEqual(s.sent, [])
    assert.deepEqual(ctx.emitted, [])
  })

  it('ignores direct messages', async () => {
    const ctx = standIn()
    const s = session({ isDirect: true, guildId: undefined, channelId: 'private:u1' })
    await ctx.mw(s, () => {})
    assert.deepEqual(s.sent, [])
  })

  it('answers the same scam from a user and passes it on', async () => {
    const ctx = standIn()
    const s = session({})
    let nexts = 0
    await ctx.mw(s, () => { nexts++ })
    assert.equal(nexts, 1)
    assert.equal(s.sent.length, 1)
  })
})
