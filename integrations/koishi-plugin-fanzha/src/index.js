'use strict'
// koishi-plugin-fanzha: fanzha's anti-fraud warnings in Koishi group chats. The plugin only
// carries messages to fanzha and its verdicts back: scores, levels and advice are fanzha's.

const path = require('node:path')
const { Schema } = require('koishi')
const { Engine } = require('fanzha')
const { sessionEvent } = require('./event')
const { ChannelSwitches } = require('./channel-switches')
const { warning, recallNotice, alertList } = require('./alert-text')

const name = 'fanzha'

const Config = Schema.object({
  rules: Schema.string().default('')
    .description('规则：TOML 规则包目录或文件，或 .fzb 规则包；留空使用内置规则包。'),
  actLevels: Schema.array(Schema.union(['notice', 'warn', 'block'])).default(['warn', 'block'])
    .description('在这些等级回复提醒。'),
  recallOnBlock: Schema.boolean().default(false)
    .description('block 级别时撤回消息（机器人需有管理权限）。'),
  admins: Schema.array(String).default([])
    .description('block 时提醒（@）的管理员用户 ID。'),
  maskPersonalData: Schema.boolean().default(true)
    .description('证据中的手机号、身份证号、银行卡号只显示后四位。'),
  dataFile: Schema.string().default('data/fanzha/channels.json')
    .description('各群开关的保存文件（相对 Koishi 实例目录）。'),
  alertsKept: Schema.natural().default(20).description('每个群保留的最近预警条数。'),
  authority: Schema.object({
    switch: Schema.natural().default(3).description('fanzha.on / fanzha.off 所需权限等级。'),
    alerts: Schema.natural().default(1).description('fanzha.alerts 所需权限等级。'),
    reload: Schema.natural().default(4).description('fanzha.reload 所需权限等级。'),
    version: Schema.natural().default(1).description('fanzha.version 所需权限等级。'),
  }).default({}),
})

/** The rules, and one monitor per bot so that scripts spread over messages are caught. */
class Rules {
  constructor(config) {
    this.config = config
    this.engine = this.load()
    this.monitors = new Map()
  }

  load() {
    const { rules } = this.config
    const engine = !rules ? Engine.bundled()
      : rules.endsWith('.fzb') ? Engine.fromBundle(rules) : Engine.fromPath(rules)
    // Monitors take the engine's setting when made, so it is set before any monitor.
    engine.maskPersonalData = this.config.maskPersonalData
    return engine
  }

  monitor(sid) {
    let monitor = this.monitors.get(sid)
    if (!monitor) this.monitors.set(sid, monitor = this.engine.monitor())
    return monitor
  }

  /** Reloads the rules from the configured path; throws, keeping the running rules, on error. */
  reload() {
    const { rules } = this.config
    if (!rules) throw new Error('未配置规则路径（rules），正在使用内置规则包')
    // A directory, a pack or a bundle; throws before replacing anything. Monitors move to the
    // new rules at their next message, keeping the scripts under way for the rules that stay.
    this.engine.reloadPath(rules)
    return this.engine.rulesVersion
  }
}

function apply(ctx, config) {
  // ctx.logger, not a Logger of our own: its lines reach the instance's console and log file.
  const logger = ctx.logger('fanzha')
  const rules = new Rules(config)
  const switches = new ChannelSwitches(path.resolve(ctx.baseDir ?? process.cwd(), config.dataFile))
  const alerts = new Map() // "<platform>:<channel>" -> the latest alerts, newest last; in memory
  const channelKey = (session) => `${session.platform}:${session.channelId || session.guildId}`

  async function guard(session) {
    // Group messages only; the bot's own messages are never scored (Koishi drops most of them
    // before middleware, but adapters that echo the bot's messages would otherwise reach here).
    if (session.isDirect || !(session.guildId || session.channelId)) return
    if (session.userId === session.selfId) return
    if (!switches.isOn(channelKey(session))) return
    const event = sessionEvent(session)
    if (!event.text) return
    const sid = session.bot?.sid ?? `${session.platform}:${session.selfId}`
    const verdict = rules.monitor(sid).observe(event)
    ctx.emit('fanzha/verdict', { session, event, verdict })
    if (!config.actLevels.includes(verdict.level)) return

    const kept = alerts.get(channelKey(session)) ?? []
    kept.push({
      time: Date.now(), level: verdict.level, score: verdict.score, sender: session.userId,
      rules: verdict.hits.map((hit) => hit.rule), evidence: [...new Set(verdict.hits.flatMap((hit) => hit.evidence))],
    })
    alerts.set(channelKey(session), kept.slice(-config.alertsKept))

    // The warning quotes the message, so it goes out before any recall.
    await session.send(warning(session.messageId, verdict, config.admins))
    if (verdict.level !== 'block' || !config.recallOnBlock) return
    let error = '此平台不支持撤回'
    if (typeof session.bot?.deleteMessage === 'function') {
      try {
        await session.bot.deleteMessage(session.channelId, session.messageId)
        return session.send(recallNotice(true, null, config.admins))
      } catch (e) {
        error = e?.message || String(e)
        logger.warn('recall failed in %s: %s', channelKey(session), error)
      }
    }
    await session.send(recallNotice(false, error, config.admins))
  }

  ctx.middleware(async (session, next) => {
    try {
      await guard(session)
    } catch (e) {
      // A failure here must not stop the chat: log it and let the message through.
      logger.warn(e)
    }
    return next()
  })

  const inGroup = (session) => !session.isDirect && (session.guildId || session.channelId)
  const cmd = ctx.command('fanzha', '反诈预警')
  const setSwitch = (on) => ({ session }) => {
    if (!inGroup(session)) return '请在群聊中使用此指令。'
    switches.set(channelKey(session), on)
    return on ? '本群已开启反诈预警。' : '本群已关闭反诈预警。'
  }
  cmd.subcommand('.on', '在本群开启反诈预警', { authority: config.authority.switch }).action(setSwitch(true))
  cmd.subcommand('.off', '在本群关闭反诈预警', { authority: config.authority.switch }).action(setSwitch(false))
  cmd.subcommand('.alerts [count:posint]', '本群最近的反诈预警', { authority: config.authority.alerts })
    .action(({ session }, count) => {
      if (!inGroup(session)) return '请在群聊中使用此指令。'
      const kept = alerts.get(channelKey(session)) ?? []
      return alertList(kept.slice(-(count || config.alertsKept)))
    })
  cmd.subcommand('.reload', '重新加载规则', { authority: config.authority.reload })
    .action(() => {
      // Nothing failed: there is just no file to read again.
      if (!config.rules) return `未配置规则路径（rules）：正在使用内置规则包（${rules.engine.rulesVersion}），没有可重新加载的规则。`
      try {
        return `规则已重新加载：${rules.reload()}`
      } catch (e) {
        return `规则加载失败，继续使用原规则（${rules.engine.rulesVersion}）：\n${e?.message || e}`
      }
    })
  cmd.subcommand('.version', '正在使用的规则版本', { authority: config.authority.version })
    .action(() => rules.engine.rulesVersion)
}

module.exports = { name, Config, apply, Rules }
