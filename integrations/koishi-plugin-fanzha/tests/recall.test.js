'use strict'
// block with recallOnBlock: the message is recalled through the bot and the admins are told.

const { describe, it, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { Engine } = require('fanzha')
const { startApp } = require('./helpers')

const SCAM = '老板，我是做工程的，先帮我出五万的票，钱马上转你' // block with the bundled packs
const WARN_ONLY = '你的收款码被限制了，扫这个二维码重新认证就能恢复' // warn, below block

describe('recallOnBlock', () => {
  let t
  let deleted
  before(async () => {
    assert.equal(Engine.bundled().scan(SCAM).level, 'block')
    assert.equal(Engine.bundled().scan(WARN_ONLY).level, 'warn')
    t = await startApp({ recallOnBlock: true, admins: ['boss'] })
  })
  after(() => t.stop())

  it('recalls a blocked message and mentions the admins', async () => {
    deleted = []
    t.bot.deleteMessage = async (channelId, messageId) => { deleted.push([channelId, messageId]) }
    const replies = await t.client('u1').receive(SCAM)
    const { session } = t.verdicts.at(-1)
    assert.deepEqual(deleted, [['g1', session.messageId]])
    assert.equal(replies.length, 2, JSON.stringify(replies))
    assert.match(replies[0], new RegExp(`^<quote id="${session.messageId}"/>🚫 反诈警告`))
    assert.match(replies[0], /请管理员留意：<at id="boss"\/>$/)
    assert.equal(replies[1], '已撤回上面这条疑似诈骗消息。<at id="boss"/>')
  })

  it('says so when the recall fails, and does not crash', async () => {
    t.bot.deleteMessage = async () => { throw new Error('permission denied') }
    const replies = await t.client('u2').receive(SCAM)
    assert.equal(replies.length, 2, JSON.stringify(replies))
    assert.equal(replies[1], '未能撤回这条消息（permission denied），请管理员手动处理。<at id="boss"/>')
  })

  it('does not recall a message that only reaches warn', async () => {
    deleted = []
    t.bot.deleteMessage = async (channelId, messageId) => { deleted.push([channelId, messageId]) }
    const replies = await t.client('u3').receive(WARN_ONLY)
    assert.equal(replies.length, 1)
    assert.match(replies[0], /⚠️ 反诈提醒/)
    assert.deepEqual(deleted, [])
  })
})

describe('without recallOnBlock', () => {
  it('only replies to a blocked message', async () => {
    const t = await startApp({})
    try {
      let calls = 0
      t.bot.deleteMessage = async () => { calls++ }
      const replies = await t.client('u1').receive(SCAM)
      assert.equal(replies.length, 1)
      assert.equal(calls, 0)
    } finally {
      await t.stop()
    }
  })
})
