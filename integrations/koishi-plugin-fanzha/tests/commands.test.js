'use strict'
// The commands: per-channel switch (kept across restarts), reload, version, alerts.

const { describe, it, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Engine } = require('fanzha')
const { ROOT, startApp, tmpDir } = require('./helpers')

const SCAM = '老板，我是做工程的，先帮我出五万的票，钱马上转你'
const LOW_AUTHORITY = /权限不足|Low authority/

describe('fanzha.on / fanzha.off', () => {
  let t
  after(() => t?.stop())

  it('switches a channel off and on, refuses lower authority, survives a restart', async () => {
    t = await startApp({}, { users: { admin: 3, member: 1 }, channels: ['g1', 'g2'] })
    const admin = t.client('admin')
    const member = t.client('member')

    await member.shouldReply('fanzha.off', LOW_AUTHORITY)
    await member.shouldReply(SCAM, /反诈/)

    await admin.shouldReply('fanzha.off', '本群已关闭反诈预警。')
    await member.shouldNotReply(SCAM)
    // Other channels are not affected.
    await t.client('member', 'g2').shouldReply(SCAM, /反诈/)
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(t.dir, 'channels.json'), 'utf8')), { 'mock:g1': false })

    await t.restartPlugin()
    await member.shouldNotReply(SCAM)
    await member.shouldReply('fanzha.on', LOW_AUTHORITY)
    await member.shouldNotReply(SCAM)

    await admin.shouldReply('fanzha.on', '本群已开启反诈预警。')
    await member.shouldReply(SCAM, /反诈/)
    await t.restartPlugin()
    await member.shouldReply(SCAM, /反诈/)
  })
})

describe('fanzha.reload and fanzha.version', () => {
  let t
  after(() => t?.stop())

  it('loads a local pack, and keeps the running rules when a rule file is broken', async () => {
    const rules = tmpDir()
    for (const file of ['common.toml', 'merchant.toml']) fs.copyFileSync(path.join(ROOT, 'rules', file), path.join(rules, file))
    t = await startApp({ rules }, { users: { owner: 4, admin: 3 } })
    const owner = t.client('owner')

    await owner.shouldReply('fanzha.version', 'common@1.0.0+merchant@1.0.0')
    await t.client('admin').shouldReply('fanzha.reload', LOW_AUTHORITY)

    // A local pack added to the directory is picked up by a reload.
    const COURIER = '老板帮我垫付快递费，回头给你'
    await owner.shouldNotReply(COURIER)
    fs.copyFileSync(path.join(__dirname, 'fixtures/local-pack.toml'), path.join(rules, 'local.toml'))
    await owner.shouldReply('fanzha.reload', '规则已重新加载：common@1.0.0+local@1.0.0+merchant@1.0.0')
    await owner.shouldReply(COURIER, /代付快递费/)

    fs.writeFileSync(path.join(rules, 'broken.toml'), '[pack\nid = "broken"\n')
    const [answer] = await owner.receive('fanzha.reload')
    assert.match(answer, /规则加载失败，继续使用原规则（common@1\.0\.0\+local@1\.0\.0\+merchant@1\.0\.0）/)
    assert.match(answer, /broken\.toml:1:\d+: error\[E\d+\]/)
    await owner.shouldReply(SCAM, /反诈/)
    await owner.shouldReply('fanzha.version', 'common@1.0.0+local@1.0.0+merchant@1.0.0')
  })

  it('reloads a .fzb bundle, and keeps the running rules when it is damaged', async () => {
    const bundle = path.join(tmpDir(), 'rules.fzb')
    fs.copyFileSync(path.join(ROOT, 'rules/bundled.fzb'), bundle)
    const t2 = await startApp({ rules: bundle }, { users: { owner: 4 } })
    try {
      const owner = t2.client('owner')
      const version = Engine.bundled().rulesVersion
      await owner.shouldReply('fanzha.version', version)
      await owner.shouldReply('fanzha.reload', `规则已重新加载：${version}`)
      fs.writeFileSync(bundle, 'not a bundle')
      await owner.shouldReply('fanzha.reload', /^规则加载失败，继续使用原规则.*\n.*rules\.fzb/)
      await owner.shouldReply(SCAM, /反诈/)
    } finally {
      await t2.stop()
    }
  })

  it('answers the bundled version, and says reload needs a rules path', async () => {
    const t2 = await startApp({}, { users: { owner: 4 } })
    try {
      await t2.client('owner').shouldReply('fanzha.version', Engine.bundled().rulesVersion)
      await t2.client('owner').shouldReply('fanzha.reload', /^未配置规则路径（rules）：正在使用内置规则包/)
    } finally {
      await t2.stop()
    }
  })
})

describe('fanzha.alerts', () => {
  it('lists the channel\'s latest alerts, newest last', async () => {
    const t = await startApp({ alertsKept: 2, maskPersonalData: true }, { channels: ['g1', 'g2'] })
    try {
      const user = t.client('u1')
      await user.shouldReply('fanzha.alerts', '本群还没有反诈预警。')
      await user.shouldReply(SCAM, /反诈/)
      await user.shouldReply('老板先出票，钱马上转你，我电话13812345678', /反诈/)
      await user.shouldReply('这期帮我出3万的票，先出票我马上扫码付款', /反诈/)
      const [list] = await user.receive('fanzha.alerts')
      const lines = list.split('\n')
      assert.equal(lines.length, 2, list)
      assert.match(lines[1], /u1 .*merchant\.print-first/)
      assert.doesNotMatch(list, /13812345678/)
      await t.client('u1', 'g2').shouldReply('fanzha.alerts', '本群还没有反诈预警。')
    } finally {
      await t.stop()
    }
  })
})
