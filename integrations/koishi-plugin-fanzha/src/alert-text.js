'use strict'
// What the channel reads: the texts of warnings, recall notices and the alert list. The advice
// itself is fanzha's (from the rules), never written here.

const { h } = require('koishi')

const HEADERS = {
  warn: '⚠️ 反诈提醒：这条消息像是诈骗话术，请先核实。',
  block: '🚫 反诈警告：这条消息高度疑似诈骗，请勿按对方要求操作！',
}

function mentions(admins) {
  return (admins || []).map((id) => h('at', { id }))
}

/** The reply to a message that reached warn or block: the message quoted, then the advice. */
function warning(messageId, verdict, admins) {
  const lines = [HEADERS[verdict.level] || HEADERS.warn, ...verdict.advice.map((a) => `· ${a}`)]
  const out = []
  if (messageId) out.push(h('quote', { id: messageId }))
  out.push(lines.join('\n'))
  if (verdict.level === 'block' && admins?.length) out.push('\n请管理员留意：', ...mentions(admins))
  return out
}

/** The notice after trying to recall a blocked message. */
function recallNotice(recalled, error, admins) {
  const text = recalled
    ? '已撤回上面这条疑似诈骗消息。'
    : `未能撤回这条消息（${error}），请管理员手动处理。`
  return [text, ...mentions(admins)]
}

function alertList(alerts) {
  if (!alerts.length) return '本群还没有反诈预警。'
  return alerts.map((a) => {
    const time = new Date(a.time).toISOString().replace('T', ' ').slice(0, 19)
    const evidence = a.evidence.length ? `：“${a.evidence.join('”“')}”` : ''
    return `${time} UTC  ${a.level} ${a.score}分  ${a.sender}  ${a.rules.join('、')}${evidence}`
  }).join('\n')
}

module.exports = { warning, recallNotice, alertList }
