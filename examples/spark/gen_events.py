#!/usr/bin/env python3
"""Writes a synthetic, time-ordered history of chat messages and shop transactions as JSON Lines.

The background is ordinary shop traffic; woven into it are the scripts the bundled stateful
rules (``rules/streams.toml``) look for, so that windows and sequences hit, many of them on
events that carry several keys (a shop's chat message has a conversation and a merchant; a
transaction has a merchant, a payer and a payee) and are therefore routed to several
partitions by the Spark backfill. A few events arrive late (dated more than five minutes behind
the stream), a few carry no time, and a few lines cannot be read at all.

    python3 examples/spark/gen_events.py --events 200000 --seed 7 > history.jsonl

The same seed and count always give the same file.
"""

import argparse
import json
import random
import sys

START_MS = 1747612800000  # 2025-05-19T00:00:00Z, 08:00 in China

NOISE_TEXTS = [
    "老板来两份酸辣粉，微信付款了你看一下",
    "今天大乐透开奖了吗？帮我机选五注",
    "几点关门？",
    "来20块双色球",
    "老細，呢度幾錢？我用支付寶俾你",
    "頭家，一碗扁食偌濟箍？",
    "收款码贴在柜台上，扫码付款就行",
    "出票机卡纸了，等一下哈",
    "民警提醒：冒充大客户让你先出票后付款的，千万别信！",
    "明天公司团建，订30份盒饭，已经微信转账付过定金了",
    "好的谢谢老板",
    "三个包子一杯豆浆",
]

# (steps of one conversation script); each step is one message.
CONVERSATION_SCRIPTS = [
    ["老板你好，我们是隔壁工地做工程的", "今天想买点彩票", "帮我出两万的大乐透", "转账截图发你了"],
    ["我们老板让我来的，长期合作", "先来5w的双色球", "钱晚点到"],
    ["这期大乐透帮我出三万", "好的，等下一起结"],
    ["这期双色球来五万块的", "好的，要哪些号？", "机选，搞快点打出来嘛"],
    ["我们老板让我来的，以后长期在你这买", "这期大乐透来三万", "搞快点打出来嘛", "截图发你了哈"],
    ["我们是部队的，明天中午订120份盒饭", "对了，顺便帮我们买十条烟，到时一起算"],
    ["老細，幫我打伍萬蚊嘅六合彩", "唔該", "截咗圖俾你，銀行延遲"],
    ["这期大乐透帮我出三万", "我先付款，你查一下到账再出"],
]

LURES = ["你的收款码被限制了，扫这个二维码重新认证一下", "扫我的码就能收款，钱直接到你账上", "恭喜中咗补贴，扫码领取要先交手续费"]


class History:
    def __init__(self, rng, events):
        self.rng = rng
        self.total = events
        self.t = START_MS
        self.n = 0
        self.pending = []  # scripted events waiting for their turn: (due_index, event)
        self.merchants = [f"shop{i}" for i in range(max(4, events // 400))]
        self.conversations = max(8, events // 40)

    def next_id(self):
        self.n += 1
        return f"e{self.n}"

    def noise(self):
        r = self.rng
        shop = r.choice(self.merchants)
        if r.random() < 0.6:
            e = {"kind": "message", "channel": "wechat", "conversation": f"g{r.randrange(self.conversations)}",
                 "sender": f"u{r.randrange(5000)}", "text": r.choice(NOISE_TEXTS)}
            if r.random() < 0.5:
                e["merchant"] = shop
            return e
        return {"kind": "transaction", "merchant": shop, "payer": f"c{r.randrange(20000)}", "payee": shop,
                "amount": round(r.uniform(2, 120), 2), "currency": "CNY", "method": r.choice(["qr", "cash", "card"]),
                "remote": False}

    def schedule(self, steps, spread):
        """Queues a script's events, each a little after the one before."""
        at = self.n
        for e in steps:
            at += 1 + self.rng.randrange(spread)
            self.pending.append((at, e))

    def start_script(self, k):
        r = self.rng
        tag = f"{k}{r.randrange(10**6)}"
        shop = r.choice(self.merchants)
        kind = r.randrange(5)
        if kind == 0:
            conv = f"s{tag}"
            texts = r.choice(CONVERSATION_SCRIPTS)
            in_shop_chat = r.random() < 0.5  # carries the merchant too: two keys, two partitions
            steps = []
            for text in texts:
                e = {"kind": "message", "channel": "wechat", "conversation": conv, "sender": f"x{tag}", "text": text}
                if in_shop_chat:
                    e["merchant"] = shop
                steps.append(e)
            self.schedule(steps, 6)
        elif kind == 1:
            # A QR lure in the shop's chat, then the shop pays someone new.
            lure = {"kind": "message", "merchant": shop, "conversation": f"q{tag}", "text": r.choice(LURES)}
            pay = {"kind": "transaction", "merchant": shop, "payer": shop, "payee": f"new{tag}",
                   "amount": r.choice([88, 500, 1999]), "method": r.choice(["qr", "transfer"]), "remote": True}
            self.schedule([lure, pay], 5)
        elif kind == 2:
            # Remote large orders from new payers at one merchant.
            steps = [{"kind": "transaction", "merchant": shop, "payer": f"b{tag}_{i}", "payee": shop,
                      "amount": r.choice([6000, 8000, 12000]), "method": "transfer", "remote": True} for i in range(3)]
            self.schedule(steps, 8)
        elif kind == 3:
            # A collection code gathers small transfers from strangers, then sends one large one on.
            mule = f"mule{tag}"
            steps = [{"kind": "transaction", "payee": mule, "payer": f"a{tag}_{i}", "amount": r.choice([100, 200, 500, 800]),
                      "remote": True} for i in range(11)]
            steps.append({"kind": "transaction", "payer": mule, "payee": f"far{tag}", "amount": r.choice([3900, 5500, 30000]),
                          "remote": True, "method": "transfer"})
            self.schedule(steps, 4)
        else:
            # One-event scripts: a scam memo, a large remote payment at night.
            e = {"kind": "transaction", "merchant": shop, "payer": f"c{tag}", "payee": shop, "amount": 300,
                 "remote": True, "memo": r.choice(["刷单佣金返还", "解冻费", "房租"])}
            self.schedule([e], 3)

    def lines(self):
        r = self.rng
        scripts = 0
        while self.n < self.total:
            due = [p for p in self.pending if p[0] <= self.n + 1]
            if due:
                self.pending.remove(due[0])
                e = due[0][1]
            else:
                if r.random() < 0.08:
                    scripts += 1
                    self.start_script(scripts)
                    continue
                e = self.noise()
            e = dict(e)
            self.t += r.randrange(1000, 20000)
            e = {"kind": e.pop("kind"), "id": self.next_id(), **e}
            roll = r.random()
            if roll < 0.01:
                e["ts"] = self.t - r.randrange(6, 20) * 60000  # late: behind the stream by over five minutes
            elif roll < 0.03:
                pass  # no time: takes the stream's
            else:
                e["ts"] = self.t
            if self.n % 500 == 150:
                yield "{not json"
            if self.n % 700 == 300:
                yield json.dumps({"kind": "message", "id": f"bad{self.n}"})  # no text
            if self.n % 1000 == 450:
                yield ""  # a blank line
            yield json.dumps(e, ensure_ascii=False)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1000, help="events to write (a few bad lines come on top)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    out = sys.stdout
    for line in History(random.Random(args.seed), args.events).lines():
        out.write(line + "\n")


if __name__ == "__main__":
    main()
