//! `fanzha route`, `fanzha consume` and `fanzha collect`: their arguments. The runtime is the
//! crate `fanzha-redis`.

use std::path::PathBuf;
use std::time::Duration;

use fanzha::Limits;
use fanzha_redis::RedisOptions;

use super::RulesArg;

/// Where the run's Redis is, and which of its keys are the run's.
#[derive(Debug, clap::Args)]
struct RedisArg {
    /// The Redis server, or any primary of a Redis Cluster, as
    /// redis://[user:password@]host[:port][/db].
    #[arg(long = "redis", value_name = "URL", default_value = "redis://127.0.0.1:6379")]
    url: String,
    /// Prefix of every key of the run, so several runs can share a server.
    #[arg(long, value_name = "PREFIX", default_value = "fanzha")]
    prefix: String,
}

impl From<RedisArg> for RedisOptions {
    fn from(a: RedisArg) -> RedisOptions {
        RedisOptions { url: a.url, prefix: a.prefix }
    }
}

pub(super) mod route {
    use super::*;

    #[derive(Debug, clap::Args)]
    pub struct Args {
        #[command(flatten)]
        redis: RedisArg,
        #[command(flatten)]
        rules: RulesArg,
        /// Partitions to split the stream into: the most workers that can share the work.
        #[arg(long, value_name = "N")]
        partitions: u32,
        /// Delete every key of an earlier run under the same --prefix first. Without it, route
        /// refuses to write over a run.
        #[arg(long)]
        reset: bool,
        /// JSON Lines input; `-` or nothing for standard input.
        #[arg(value_name = "FILE")]
        input: Option<PathBuf>,
    }

    pub fn run(args: Args) -> i32 {
        let engine = match args.rules.load(Limits::default()) {
            Ok(x) => x,
            Err(code) => return code,
        };
        let options = fanzha_redis::route::Options {
            redis: args.redis.into(),
            partitions: args.partitions,
            reset: args.reset,
            input: args.input,
        };
        fanzha_redis::route::run(options, &engine)
    }
}

pub(super) mod consume {
    use super::*;

    #[derive(Debug, clap::Args)]
    pub struct Args {
        #[command(flatten)]
        redis: RedisArg,
        #[command(flatten)]
        rules: RulesArg,
        /// This worker's name, unique among the run's workers.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// How long a partition stays owned by a worker that stopped renewing it: after a crash,
        /// its partitions move to other workers after this.
        #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
        lease: Duration,
        /// Exit once every input line has its verdict (after `fanzha route` finished).
        #[arg(long)]
        exit_when_done: bool,
        /// Serve Prometheus metrics at http://ADDR/metrics (for example 127.0.0.1:9464; port 0
        /// picks a free one, printed on standard error).
        #[arg(long, value_name = "ADDR")]
        metrics: Option<String>,
    }

    pub fn run(args: Args) -> i32 {
        let rules = match rules(&args.rules) {
            Ok(x) => x,
            Err(code) => return code,
        };
        let options = fanzha_redis::consume::Options {
            redis: args.redis.into(),
            name: args.name,
            lease: args.lease,
            exit_when_done: args.exit_when_done,
            metrics: args.metrics,
        };
        fanzha_redis::consume::run(options, rules)
    }

    /// The worker's rules: a bundle is only read and its header checked here, and loaded once
    /// its rules version matches the run's (a worker given the wrong bundle fails at once);
    /// rule files are compiled now.
    fn rules(arg: &RulesArg) -> Result<fanzha_redis::Rules, i32> {
        let Some(path) = arg.bundle()? else {
            return arg.load(Limits::default()).map(Into::into);
        };
        std::fs::read(path)
            .map_err(|e| format!("{}: {e}", path.display()))
            .and_then(|bytes| fanzha_redis::Rules::bundle(path, bytes, Limits::default()))
            .map_err(|e| {
                eprintln!("error: {e}");
                2
            })
    }
}

pub(super) mod collect {
    use super::*;

    #[derive(Debug, clap::Args)]
    pub struct Args {
        #[command(flatten)]
        redis: RedisArg,
        /// Wait until routing is over and every line has its verdict.
        #[arg(long)]
        wait: bool,
        /// Print verdicts as they are written, in input order, until the last line's (while
        /// routing goes on, until stopped).
        #[arg(long, conflicts_with = "wait")]
        follow: bool,
        /// Print only the verdicts partition P wrote (of the lines whose smallest partition is P),
        /// in input order.
        #[arg(long, value_name = "P")]
        partition: Option<u32>,
    }

    pub fn run(args: Args) -> i32 {
        fanzha_redis::collect::run(fanzha_redis::collect::Options {
            redis: args.redis.into(),
            wait: args.wait,
            follow: args.follow,
            partition: args.partition,
        })
    }
}
