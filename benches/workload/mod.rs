//! The synthetic workload of the throughput harness: a pack of 2,000 Chinese literals and 50
//! regexes, packs of any number of rules, and chat messages of 20–300 bytes (about 90 on
//! average, about 2% scam-like).
//!
//! Everything is generated from a fixed seed, so every run, every machine and every peer (the
//! Python script reads the same files) sees the same bytes. Literals are built as
//! *prefix + object* from two word lists, so ordinary messages made of the same words hit
//! prefixes and objects alone, and now and then a whole literal, as real chat does; the
//! scam-like messages carry whole literals, amounts, phone numbers, ids and links.
#![allow(dead_code)] // each bench and test uses part of it

use std::fmt::Write;

/// A small deterministic generator (SplitMix64): the workload must not depend on a crate's
/// version of a random stream.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// What a fraudster asks for: 50 openings.
const PREFIXES: [&str; 50] = [
    "先出",
    "先打",
    "先帮我出",
    "帮我垫",
    "帮忙垫付",
    "代收",
    "代付",
    "刷单",
    "转到私人",
    "扫码领",
    "远程转",
    "截图给",
    "返利",
    "退款",
    "解冻",
    "保证金",
    "押金",
    "走一下",
    "过一下",
    "借用",
    "对公转",
    "私下转",
    "垫付",
    "预付",
    "定金",
    "手续费",
    "验证码",
    "提现",
    "充值",
    "返现",
    "内部渠道",
    "稳赚",
    "包中",
    "跑分",
    "洗白",
    "套现",
    "兼职",
    "点赞",
    "做任务",
    "高额",
    "安全账户",
    "冻结",
    "激活",
    "注销",
    "理赔",
    "中奖",
    "领取",
    "补贴",
    "认证",
    "升级",
];

/// What it is asked for: 40 objects. 50 × 40 = 2,000 literals.
const OBJECTS: [&str; 40] = [
    "票",
    "彩票",
    "款",
    "钱",
    "账户",
    "流水",
    "红包",
    "佣金",
    "烟钱",
    "饭钱",
    "货款",
    "工程款",
    "收款码",
    "二维码",
    "银行卡",
    "支付宝",
    "微信号",
    "积分",
    "额度",
    "利息",
    "奖金",
    "返点",
    "押金条",
    "发票",
    "转账截图",
    "回执",
    "订单",
    "名额",
    "会员",
    "礼包",
    "现金",
    "本金",
    "提成",
    "工资",
    "路费",
    "运费",
    "保险",
    "贷款",
    "网贷",
    "征信",
];

/// Ordinary shop chat: what most messages are made of.
const CHAT: [&str; 64] = [
    "老板来两份酸辣粉",
    "今天开奖了吗",
    "明天几点开门",
    "好的谢谢",
    "我等下过来拿",
    "帮我留一包烟",
    "双色球还是老号码",
    "这期大乐透中了五块",
    "微信付过了你看一下",
    "收到了谢谢老板",
    "今天生意不错啊",
    "下雨了路上小心",
    "孩子放学了没有",
    "晚上吃什么",
    "这个月水电费又涨了",
    "刚才那个人买了二十注",
    "你们店几点关门",
    "帮我看看中没中",
    "老顾客了给个优惠",
    "零钱不够找",
    "我扫码付款了",
    "转账记录给你看了",
    "明天要进货",
    "饮料放冰箱里了",
    "周末人多",
    "排列三出了什么号",
    "快乐八玩法我不太会",
    "麻烦开一下发票",
    "店里空调坏了",
    "隔壁新开了一家奶茶店",
    "早上好",
    "晚安",
    "哈哈哈",
    "收到",
    "行",
    "没问题",
    "好嘞",
    "辛苦了",
    "今天的面有点咸",
    "再加一个蛋",
    "不要香菜",
    "打包带走",
    "堂食",
    "外卖到了放门口",
    "群里的红包谁领了",
    "我妈说周末来看看",
    "小区门口在修路",
    "快递放在店里了",
    "帮我充一下话费",
    "电动车停门口没关系吧",
    "老板娘今天不在吗",
    "彩票站新来了一个店员",
    "上次那张票兑奖了",
    "刮刮乐还有吗",
    "这个口味卖完了",
    "进了一批新货",
    "明天早点来",
    "记账先记上月底一起结",
    "找你十块",
    "现金还是扫码",
    "我用支付宝",
    "银行卡余额不够了",
    "发票抬头写公司名",
    "提醒大家注意防骗",
];

const PUNCT: [&str; 8] = ["，", "。", "！", "？", " ", "～", "…", ","];
const TAILS: [&str; 10] = ["哈", "呀", "😊", "👍", "ok", "haode", "嗯", "🙏", "的", "啦"];

/// The synthetic pattern set: 2,000 literals and 50 regexes, in the syntax common to Rust
/// `regex`, Python `re` and Hyperscan (no `\d`, whose meaning differs between them).
pub struct Patterns {
    pub literals: Vec<String>,
    pub regexes: Vec<String>,
}

pub fn patterns() -> Patterns {
    let mut literals = Vec::with_capacity(PREFIXES.len() * OBJECTS.len());
    for p in PREFIXES {
        for o in OBJECTS {
            literals.push(format!("{p}{o}"));
        }
    }
    let mut regexes: Vec<String> = [
        "1[3-9][0-9]{9}",                              // mobile numbers
        "[0-9]+(\\.[0-9]+)?万",                        // amounts in wan
        "[0-9]{4,}元",                                 // large amounts in yuan
        "(vx|wx|微信|薇信|v信)[:：]?[a-z0-9_-]{5,20}", // WeChat ids
        "(qq|扣扣)[:：]?[1-9][0-9]{4,10}",             // QQ numbers
        "https?://[a-z0-9./_-]+",                      // links
        "[a-z0-9-]+\\.(com|cn|net|top|xyz|vip)",       // bare domains
        "[0-9]{16,19}",                                // card numbers
    ]
    .into_iter()
    .map(String::from)
    .collect();
    // Phrases with gaps: an opening, up to a few characters of anything, an object.
    let mut rng = Rng::new(0x5EED_0001);
    while regexes.len() < 50 {
        let p = rng.pick(&PREFIXES);
        let o = rng.pick(&OBJECTS);
        let gap = 2 + rng.below(9);
        let re = format!("{p}.{{0,{gap}}}{o}");
        if !regexes.contains(&re) {
            regexes.push(re);
        }
    }
    Patterns { literals, regexes }
}

/// The synthetic set as a fanzha pack: 200 rules of ten literals each and one rule per regex.
/// Pinyin spellings are off, so fanzha matches the very patterns its peers match.
pub fn synthetic_pack(p: &Patterns) -> String {
    let mut s = String::from(
        "[pack]\nid = \"synthetic\"\nversion = \"1.0.0\"\n\
         description = \"2,000 literals and 50 regexes for the throughput harness\"\n\
         pinyin = false\nlevels = { notice = 30, warn = 60, block = 100 }\n",
    );
    for (i, chunk) in p.literals.chunks(10).enumerate() {
        let terms: Vec<String> = chunk.iter().map(|l| format!("{l:?}")).collect();
        let _ = write!(
            s,
            "\n[[rule]]\nid = \"synthetic.l{i:03}\"\ntitle = \"literal group {i}\"\n\
             category = \"group{}\"\npoints = {}\nwhen = {{ any = [{}] }}\n\
             advice = [\"核实对方身份，不要先垫付\"]\n",
            i % 20,
            20 + (i % 5) * 10,
            terms.join(", ")
        );
    }
    for (i, re) in p.regexes.iter().enumerate() {
        let _ = write!(
            s,
            "\n[[rule]]\nid = \"synthetic.r{i:02}\"\ntitle = \"regex {i}\"\ncategory = \"regex{}\"\n\
             points = 15\nwhen = {{ any = [{:?}] }}\n",
            i % 10,
            format!("/{re}/")
        );
    }
    s
}

/// A pack of `n` rules for the scaling figures: each asks for any of three phrases, or for
/// two phrases together, of three characters drawn from the characters of the chat itself.
/// Phrases are specific, as real rules' are, so the share of messages that reach a rule stays
/// about the same from 100 rules to 10,000, while the automaton and the candidate lists grow
/// (ten thousand rules carry some twenty-five thousand distinct phrases).
pub fn scaling_pack(n: usize) -> String {
    let mut rng = Rng::new(0x5EED_0002 ^ n as u64);
    let mut pool: Vec<char> = CHAT.iter().chain(&PREFIXES).chain(&OBJECTS).flat_map(|w| w.chars()).collect();
    pool.retain(|c| !c.is_ascii());
    pool.sort_unstable();
    pool.dedup();
    let mut s = format!(
        "[pack]\nid = \"scale{n}\"\nversion = \"1.0.0\"\ndescription = \"{n} generated rules\"\n\
         pinyin = false\nlevels = {{ notice = 30, warn = 60, block = 100 }}\n"
    );
    let word = |rng: &mut Rng| -> String { (0..3).map(|_| rng.pick(&pool)).collect() };
    for i in 0..n {
        let when = if i % 2 == 0 {
            let (a, b, c) = (word(&mut rng), word(&mut rng), word(&mut rng));
            format!("{{ any = [{a:?}, {b:?}, {c:?}] }}")
        } else {
            format!("{{ all = [{:?}, {:?}] }}", word(&mut rng), word(&mut rng))
        };
        let _ = write!(
            s,
            "\n[[rule]]\nid = \"scale.r{i:05}\"\ntitle = \"rule {i}\"\ncategory = \"c{}\"\npoints = {}\nwhen = {when}\n",
            i % 50,
            10 + (i % 7) * 10
        );
    }
    s
}

/// `n` chat messages: lengths 20–300 bytes, about 90 on average; about 2% scam-like.
pub fn messages(n: usize, p: &Patterns) -> Vec<String> {
    let mut rng = Rng::new(0x5EED_0003);
    (0..n).map(|_| message(&mut rng, p)).collect()
}

fn message(rng: &mut Rng, p: &Patterns) -> String {
    // Short messages are the most common: the sum of two draws skews the lengths towards
    // the low end (mean about 90 bytes), capped at 300.
    let target = (20 + rng.below(80) + rng.below(80) * rng.below(3) / 2).min(300);
    let scam = rng.chance(2);
    let mut s = String::new();
    if scam {
        push_scam(rng, p, &mut s);
    }
    while s.len() < target {
        if !s.is_empty() {
            s.push_str(rng.pick(&PUNCT));
        }
        match rng.below(20) {
            0 => {
                let _ = write!(s, "{}块", 1 + rng.below(200));
            }
            1 => s.push_str(rng.pick(&TAILS)),
            2 => s.push_str(rng.pick(&PREFIXES)),
            3 => s.push_str(rng.pick(&OBJECTS)),
            _ => s.push_str(rng.pick(&CHAT)),
        }
    }
    if scam && rng.chance(50) {
        s.push('，');
        push_scam(rng, p, &mut s);
    }
    truncate(&mut s, 300);
    if s.len() < 20 {
        s.push_str("，好的谢谢老板");
    }
    s
}

fn push_scam(rng: &mut Rng, p: &Patterns, s: &mut String) {
    s.push_str(rng.pick(&["老板", "我是做工程的", "兄弟", "亲", "您好"]));
    s.push_str(&p.literals[rng.below(p.literals.len())]);
    match rng.below(6) {
        0 => {
            let _ = write!(s, "，我电话1{}{:09}", 3 + rng.below(7), rng.next_u64() % 1_000_000_000);
        }
        1 => {
            let _ = write!(s, "，{}万马上转你", 1 + rng.below(20));
        }
        2 => {
            let _ =
                write!(s, "，加vx:{}{}", rng.pick(&["abc", "zz", "lucky", "boss"]), 1000 + rng.below(9000));
        }
        3 => {
            let _ = write!(s, "，点这个http://t.{}.top/{}", rng.pick(&["cn", "xyz", "vip"]), rng.below(1000));
        }
        4 => {
            s.push_str(rng.pick(&PREFIXES));
            s.push_str(rng.pick(&CHAT[..10]));
            s.push_str(rng.pick(&OBJECTS));
        }
        _ => s.push_str(&p.literals[rng.below(p.literals.len())]),
    }
}

/// Cuts `s` to at most `max` bytes at a character boundary.
fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// Texts of the real corpus (`../shared/corpus/benign-chat.jsonl.gz`), with scam traffic
/// generated from the synthetic scripts mixed in at 2%.
pub fn corpus_texts(path: &std::path::Path) -> std::io::Result<Vec<String>> {
    use std::io::BufRead;
    let file = std::fs::File::open(path)?;
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for line in reader.lines() {
        let line = line?;
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if let Some(t) = v.get("text").and_then(|t| t.as_str()) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

/// Scam traffic for the bundled packs: the scripts police anti-fraud centres warn shops of, in a few spellings.
pub const BUNDLED_SCAMS: [&str; 12] = [
    "老板，我是做工程的，先帮我出五万的票，钱马上转你",
    "老闆，先幫我出伍萬嘅票，錢等陣俾你",
    "我们工地订150份盒饭，你先帮我垫付两条中华烟的钱，一起结",
    "借你个人账户走一下流水，规避监管，给你返点",
    "扫这个二维码收款，钱直接到账",
    "先出piao，我远程转账给你，截图发你了",
    "老板你先打票嘛，钱马上转给你，莫得问题",
    "你好，我是反诈中心的，你的账户涉嫌洗钱，需要转到安全账户",
    "加vx:lucky8888，内部渠道稳赚不赔",
    "头家，先共我出票，钱等一下汇予你",
    "兼职刷单，点赞一单返佣金30元，先垫付",
    "你的快递丢了，我们理赔需要你提供银行卡和验证码",
];

/// The corpus with one scam script every fifty messages.
pub fn with_scams(texts: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(texts.len() + texts.len() / 49);
    for (i, t) in texts.into_iter().enumerate() {
        if i % 49 == 48 {
            out.push(BUNDLED_SCAMS[(i / 49) % BUNDLED_SCAMS.len()].to_string());
        }
        out.push(t);
    }
    out
}
