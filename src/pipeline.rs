//! JSON Lines in, verdicts out: the ordered streaming pipeline behind `fanzha scan`.
//!
//! A reader thread reads lines into a bounded channel; the calling thread cuts them into
//! batches (when a batch is full, or as soon as no more input is waiting, so a live stream is
//! answered line by line) and hands each batch to a rayon pool, the next one before the
//! workers are done with the one before, so they never wait for it; it writes the verdicts in
//! input order meanwhile. At most two batches of lines are in flight, whatever the input's
//! size.
//!
//! The pipeline follows a [`LiveEngine`]: each batch is scored by the engine current when the
//! batch starts, so an event is never dropped or scored twice across a reload, and with
//! [`PipelineOptions::with_version`] each verdict names the rule-set version that scored it.
//! Stateful scoring keeps the monitor's state across reloads for the rules that stay.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use crate::event::Event;
use crate::live::LiveEngine;
use crate::monitor::{Monitor, MonitorConfig};
use crate::scan::Engine;
use crate::verdict::Verdict;

/// Lines one worker takes at a time.
const CHUNK: usize = 128;

/// Bytes of input a batch takes at most, whatever its line count: with long lines, a batch
/// of `batch` lines could otherwise hold gigabytes.
const BATCH_BYTES: usize = 32 << 20;

/// How a [`Pipeline`] runs.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Worker threads (default: all cores). The output is the same for any number.
    pub threads: usize,
    /// Lines read before a batch is scored: large enough to keep every worker busy, small
    /// enough that output keeps flowing on a slow stream. Default 8192.
    pub batch: usize,
    /// Score through a [`Monitor`] (windows and sequences; default) or each event alone.
    pub stateful: bool,
    /// Limits of the monitor's state.
    pub monitor: MonitorConfig,
    /// Add `"rules":"<pack>@<version>+…"` to each verdict: the rule set that scored it.
    pub with_version: bool,
    /// Bytes of one input line at most (its newline not counted). A longer line is skipped
    /// without being held in memory and answered with `{"line":N,"error":"…"}`. Default
    /// 8 MiB: a message at the 1 MiB message limit, escaped as `\uXXXX`, still fits.
    pub max_line_bytes: usize,
    /// Mask phone, ID card and bank card numbers in the evidence of each verdict (see
    /// [`Verdict::mask_personal_data`]). Default off; also on while the live engine masks
    /// ([`LiveEngine::set_mask_personal_data`]).
    pub mask_personal_data: bool,
}

impl Default for PipelineOptions {
    fn default() -> PipelineOptions {
        PipelineOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            batch: 8192,
            stateful: true,
            monitor: MonitorConfig::default(),
            with_version: false,
            max_line_bytes: 8 << 20,
            mask_personal_data: false,
        }
    }
}

/// How far a pipeline has got, after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Input lines scored so far.
    pub lines: u64,
    /// Input bytes read so far.
    pub bytes: u64,
}

/// Scores a stream of JSON Lines events into JSON Lines verdicts, one per input line, in order
/// (a line that cannot be read gives `{"line":N,"error":"…"}` in its place).
///
/// ```
/// use std::sync::Arc;
/// use fanzha::{Engine, LiveEngine, Pipeline, PipelineOptions};
///
/// let input = "{\"kind\":\"message\",\"id\":\"a\",\"text\":\"老板先出票，钱等下转你\"}\nnot json\n";
/// let live = Arc::new(LiveEngine::new(Engine::bundled()?));
/// let mut out = Vec::new();
/// let lines = Pipeline::new(live, PipelineOptions::default()).run(input.as_bytes(), &mut out, |_| {})?;
/// let out = String::from_utf8(out)?;
/// assert_eq!(lines, 2);
/// assert!(out.starts_with("{\"id\":\"a\",\"level\":\"warn\""));
/// assert!(out.ends_with("{\"line\":2,\"error\":\"invalid JSON: expected ident at line 1 column 2\"}\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Pipeline {
    live: Arc<LiveEngine>,
    options: PipelineOptions,
    /// The worker threads, started by the first run and kept for the next.
    workers: OnceLock<rayon::ThreadPool>,
}

/// Scores batches with the engine of the moment: a monitor, or the engine's scanners.
enum Scorer {
    Stateful(Box<Monitor>),
    Stateless(Engine),
}

impl Pipeline {
    /// A pipeline over `live`'s engines.
    pub fn new(live: Arc<LiveEngine>, options: PipelineOptions) -> Pipeline {
        Pipeline { live, options, workers: OnceLock::new() }
    }

    /// Reads `reader` to its end, writing one line to `writer` per input line, in order;
    /// `progress` is called after each batch. Returns the number of lines read. Fails only when
    /// reading or writing fails, or the worker threads cannot start.
    ///
    /// The workers are handed the next batch before they finish the one they are on, so they
    /// never wait for this thread, which meanwhile writes the verdicts of the batch before and
    /// cuts the next (a stateful batch starts when the one before it is done, as the monitor
    /// sees events in order).
    pub fn run<R, W>(&self, reader: R, mut writer: W, mut progress: impl FnMut(Progress)) -> io::Result<u64>
    where
        R: Read + Send + 'static,
        W: Write,
    {
        let threads = self.options.threads.max(1);
        let batch_size = self.options.batch.max(1);
        let pool = match self.workers.get() {
            Some(pool) => pool,
            None => {
                let pool =
                    rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(io::Error::other)?;
                self.workers.get_or_init(|| pool)
            }
        };
        let bytes_read = Arc::new(AtomicU64::new(0));
        let max_line = self.options.max_line_bytes.max(1);
        let mut cutter =
            Cutter { rx: read_blocks(reader, Arc::clone(&bytes_read), max_line), rest: None, n: 0 };
        let mut engine = self.live.engine();
        // The scorer, when no batch has it: a stateful batch takes the monitor along and gives
        // it back with its verdicts; stateless batches each take a clone of the engine.
        let mut scorer = Some(self.scorer(&engine));
        let mut write = |done: Scored, wait: bool| -> io::Result<()> {
            write_all_vectored(&mut writer, &done.rendered)?;
            if done.lines < batch_size || wait {
                // Input is not keeping up: hand over what is done rather than wait.
                writer.flush()?;
            }
            progress(Progress { lines: done.last, bytes: bytes_read.load(Ordering::Relaxed) });
            Ok(())
        };
        pool.in_place_scope_fifo(|s| {
            // Batches handed to the workers, oldest first; at most two.
            let mut in_flight: VecDeque<InFlight> = VecDeque::new();
            loop {
                let batch = match cutter.cut(batch_size, false) {
                    Ok(Some(batch)) => batch,
                    Ok(None) => {
                        // No input waiting: what is scored goes out before waiting for more.
                        while let Some(f) = in_flight.pop_front() {
                            write(f.wait(&mut scorer)?, true)?;
                        }
                        match cutter.cut(batch_size, true) {
                            Ok(Some(batch)) => batch,
                            Ok(None) => break,
                            Err(e) => return Err(e),
                        }
                    }
                    Err(e) => {
                        // The lines before the error are answered all the same.
                        while let Some(f) = in_flight.pop_front() {
                            write(f.wait(&mut scorer)?, false)?;
                        }
                        return Err(e);
                    }
                };
                // A stateful batch starts when the one before it gives the monitor back.
                let mut done = None;
                if scorer.is_none() {
                    let f = in_flight.pop_front().expect("the batch that has the scorer");
                    done = Some(f.wait(&mut scorer)?);
                }
                let mut this = scorer.take().expect("the scorer is back");
                // One rule-set version per batch: an event is scored once, by the engine
                // current when its batch started.
                let current = self.live.engine();
                if !Arc::ptr_eq(&current, &engine) {
                    engine = current;
                    match &mut this {
                        // The state of the rules the new set keeps goes on.
                        Scorer::Stateful(m) => m.set_engine((*engine).clone()),
                        Scorer::Stateless(_) => this = self.scorer(&engine),
                    }
                }
                match &this {
                    Scorer::Stateless(e) => scorer = Some(Scorer::Stateless(e.clone())),
                    Scorer::Stateful(_) => {}
                }
                let version = self.options.with_version.then(|| engine.version().to_string());
                let mask = self.options.mask_personal_data || self.live.masks_personal_data();
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                let (lines, last) = (batch.lines, batch.last);
                let how = Lines { version, max_line, mask };
                match this {
                    Scorer::Stateful(mut monitor) => s.spawn_fifo(move |_| {
                        let rendered = observe(&mut monitor, &batch.lines(), &how);
                        // Nobody listens only when writing failed.
                        let _ = tx.send((rendered, Some(Scorer::Stateful(monitor))));
                    }),
                    Scorer::Stateless(engine) => Pieces::spawn(s, engine, batch, how, tx),
                }
                in_flight.push_back(InFlight { rx, lines, last });
                // Meanwhile, here: the verdicts of the batch before go out.
                if let Some(done) = done {
                    write(done, false)?;
                }
                while in_flight.len() > 1 && scorer.is_some() {
                    let f = in_flight.pop_front().expect("two in flight");
                    write(f.wait(&mut scorer)?, false)?;
                }
            }
            Ok(())
        })?;
        writer.flush()?;
        Ok(cutter.n)
    }

    fn scorer(&self, engine: &Engine) -> Scorer {
        if self.options.stateful {
            Scorer::Stateful(Box::new(Monitor::with_config(engine.clone(), self.options.monitor.clone())))
        } else {
            Scorer::Stateless(engine.clone())
        }
    }
}

/// Writes every buffer, in order, as few calls as the writer takes: a batch's verdicts go to
/// a buffered writer's inner writer in one `writev` rather than copied through its buffer.
fn write_all_vectored(writer: &mut impl Write, buffers: &[Vec<u8>]) -> io::Result<()> {
    let mut slices: Vec<io::IoSlice<'_>> =
        buffers.iter().filter(|b| !b.is_empty()).map(|b| io::IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match writer.write_vectored(rest) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "failed to write the verdicts")),
            Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Blocks of input in flight between the reader thread and the scorer, at most: with the
/// reader's buffer size, this bounds the input held in memory.
const BLOCKS_IN_FLIGHT: usize = 64;

/// Bytes the reader asks for at a time, and the size of a fresh block.
const READ_BYTES: usize = 1 << 16;

/// A block grows rather than read fewer bytes than this at once.
const MIN_READ_BYTES: usize = 1 << 14;

/// Whole lines as read, in the buffer they were read into. Empty: a line over the limit,
/// skipped. When the last batch holding it is done, its buffer goes back to the reader,
/// which reads into it again: no copy of the input between the read and the workers, and
/// no fresh memory (page faults) for every block.
struct Block {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The reader's spare buffers, if it still takes them.
    home: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
}

impl Block {
    fn overlong() -> Block {
        Block { buf: Vec::new(), start: 0, end: 0, home: None }
    }
}

impl std::ops::Deref for Block {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if let Some(home) = &self.home {
            // A full or closed pool just lets the buffer go.
            let _ = home.try_send(std::mem::take(&mut self.buf));
        }
    }
}

/// A reader thread: the input in blocks of whole lines, into a channel. Ends at end of input
/// (a last line without a newline is its own block), on a read error (sent on), or when
/// nobody listens.
///
/// A block is everything one read brought, cut after its last newline (the start of the
/// line after it is carried into the next block): whole lines travel together, one hand-over
/// for hundreds of lines, yet a line is never held back waiting for more input (a read
/// returns what is there), so a live stream flows line by line.
fn read_blocks<R: Read + Send + 'static>(
    mut reader: R,
    bytes_read: Arc<AtomicU64>,
    max_line: usize,
) -> std::sync::mpsc::Receiver<io::Result<Block>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(BLOCKS_IN_FLIGHT);
    let (home, spare) = std::sync::mpsc::sync_channel::<Vec<u8>>(BLOCKS_IN_FLIGHT + 4);
    std::thread::spawn(move || {
        let next_buffer =
            || spare.try_recv().ok().filter(|b| !b.is_empty()).unwrap_or_else(|| vec![0; READ_BYTES]);
        let block =
            |buf: Vec<u8>, start: usize, end: usize| Block { buf, start, end, home: Some(home.clone()) };
        let mut buf = next_buffer();
        // `buf[..carry]` is the start of a line whose end has not been read yet (never over
        // `max_line`).
        let mut carry = 0;
        // Inside a line over the limit: its bytes are dropped up to its newline.
        let mut skipping = false;
        loop {
            if buf.len() - carry < MIN_READ_BYTES {
                buf.resize((2 * buf.len()).max(carry + READ_BYTES), 0);
            }
            let n = match reader.read(&mut buf[carry..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            if n == 0 {
                if skipping {
                    let _ = tx.send(Ok(Block::overlong()));
                } else if carry > 0 {
                    let _ = tx.send(Ok(block(buf, 0, carry)));
                }
                return;
            }
            bytes_read.fetch_add(n as u64, Ordering::Relaxed);
            let end = carry + n;
            // Where the lines not yet handed on start.
            let mut from = 0;
            let mut out: Vec<Block> = Vec::new();
            if skipping {
                match memchr::memchr(b'\n', &buf[..end]) {
                    Some(i) => {
                        skipping = false;
                        out.push(Block::overlong());
                        from = i + 1;
                    }
                    None => continue,
                }
            }
            let Some(last) = memchr::memrchr(b'\n', &buf[from..end]).map(|i| from + i) else {
                // No line ends here: the line read grows, or is over the limit.
                if end - from > max_line {
                    skipping = true;
                    carry = 0;
                } else {
                    buf.copy_within(from..end, 0);
                    carry = end - from;
                }
                for b in out {
                    if tx.send(Ok(b)).is_err() {
                        return;
                    }
                }
                continue;
            };
            // The start of the next line goes into the next buffer.
            let mut next = next_buffer();
            let tail = end - (last + 1);
            if tail > max_line {
                skipping = true;
                carry = 0;
            } else {
                if next.len() < tail + MIN_READ_BYTES {
                    next.resize(tail + READ_BYTES, 0);
                }
                next[..tail].copy_from_slice(&buf[last + 1..end]);
                carry = tail;
            }
            if last - from <= max_line {
                // No line here can be over the limit: the common case, one block in place.
                out.push(block(std::mem::replace(&mut buf, next), from, last + 1));
            } else {
                // Some line may be: lines are checked one by one, and those within the limit
                // copied into blocks of their own around the ones skipped.
                let mut lines = Vec::new();
                for line in buf[from..=last].split_inclusive(|&b| b == b'\n') {
                    if line.len() - 1 > max_line {
                        if !lines.is_empty() {
                            let len = lines.len();
                            out.push(Block {
                                buf: std::mem::take(&mut lines),
                                start: 0,
                                end: len,
                                home: None,
                            });
                        }
                        out.push(Block::overlong());
                    } else {
                        lines.extend_from_slice(line);
                    }
                }
                if !lines.is_empty() {
                    let len = lines.len();
                    out.push(Block { buf: lines, start: 0, end: len, home: None });
                }
                buf = next;
            }
            for b in out {
                if tx.send(Ok(b)).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// A batch's verdicts, rendered, and the scorer if the batch took it along.
type Rendered = (Vec<Vec<u8>>, Option<Scorer>);

/// A batch the workers are scoring.
struct InFlight {
    /// Its verdicts, and the scorer if the batch took it along.
    rx: std::sync::mpsc::Receiver<Rendered>,
    lines: usize,
    last: u64,
}

impl InFlight {
    /// Waits for the batch's verdicts, and puts back the scorer if it took it along.
    fn wait(self, scorer: &mut Option<Scorer>) -> io::Result<Scored> {
        // The sender is gone only if scoring panicked; the scope passes the panic on.
        let (rendered, back) = self.rx.recv().map_err(|_| io::Error::other("a worker panicked"))?;
        if back.is_some() {
            *scorer = back;
        }
        Ok(Scored { rendered, lines: self.lines, last: self.last })
    }
}

/// The verdicts of a batch, rendered, waiting to be written.
struct Scored {
    rendered: Vec<Vec<u8>>,
    /// Input lines in the batch.
    lines: usize,
    /// The number of its last line.
    last: u64,
}

/// Cuts the reader's blocks into batches.
struct Cutter {
    rx: std::sync::mpsc::Receiver<io::Result<Block>>,
    /// A block a batch ended inside, and where its first line not yet taken starts.
    rest: Option<(Arc<Block>, usize)>,
    /// Lines cut so far.
    n: u64,
}

/// Lines to score together: whole blocks, or parts of them, cut into pieces.
struct Batch {
    blocks: Vec<Arc<Block>>,
    /// Runs of at most [`CHUNK`] lines, a worker's share at a time.
    pieces: Vec<Piece>,
    /// Lines in the batch.
    lines: usize,
    /// The number of its last line.
    last: u64,
}

/// Consecutive whole lines of one block.
#[derive(Debug, Clone, Copy)]
struct Piece {
    block: usize,
    start: usize,
    end: usize,
    /// The number of the first line.
    first: u64,
}

impl Cutter {
    /// The next batch: the rest of a block a batch ended inside, or a block from the reader
    /// (waited for if `wait`), then every block waiting, up to `batch_size` lines. `None` at
    /// the end of the input, or when not waiting and no input is there yet.
    fn cut(&mut self, batch_size: usize, wait: bool) -> io::Result<Option<Batch>> {
        let mut batch = Batch { blocks: Vec::new(), pieces: Vec::new(), lines: 0, last: self.n };
        let mut bytes = 0;
        if let Some((block, at)) = self.rest.take() {
            bytes += block.len() - at;
            self.take(&mut batch, block, at, batch_size);
        } else {
            let first = if wait {
                match self.rx.recv() {
                    Ok(block) => block?,
                    Err(_) => return Ok(None),
                }
            } else {
                match self.rx.try_recv() {
                    Ok(block) => block?,
                    Err(_) => return Ok(None),
                }
            };
            bytes += first.len();
            self.take(&mut batch, Arc::new(first), 0, batch_size);
        }
        while batch.lines < batch_size && bytes < BATCH_BYTES {
            match self.rx.try_recv() {
                Ok(block) => {
                    let block = block?;
                    bytes += block.len();
                    self.take(&mut batch, Arc::new(block), 0, batch_size);
                }
                Err(_) => break,
            }
        }
        batch.last = self.n;
        Ok(Some(batch))
    }

    /// Adds the lines of `block` from `at` to `batch`, up to `batch_size` lines in all; the
    /// block's other lines are kept for the next batch.
    fn take(&mut self, batch: &mut Batch, block: Arc<Block>, at: usize, batch_size: usize) {
        let b = batch.blocks.len();
        if block.is_empty() {
            // A line over the limit, skipped by the reader (see `read_blocks`): one result all
            // the same.
            self.n += 1;
            batch.lines += 1;
            batch.pieces.push(Piece { block: b, start: 0, end: 0, first: self.n });
            batch.blocks.push(block);
            return;
        }
        let mut piece = Piece { block: b, start: at, end: at, first: self.n + 1 };
        let mut in_piece = 0;
        let mut pos = at;
        while pos < block.len() {
            if batch.lines == batch_size {
                break;
            }
            // A last line without a newline ends at the end of the input.
            let end = memchr::memchr(b'\n', &block[pos..]).map_or(block.len(), |i| pos + i + 1);
            pos = end;
            self.n += 1;
            batch.lines += 1;
            in_piece += 1;
            if in_piece == CHUNK {
                piece.end = pos;
                batch.pieces.push(piece);
                piece = Piece { block: b, start: pos, end: pos, first: self.n + 1 };
                in_piece = 0;
            }
        }
        if in_piece > 0 {
            piece.end = pos;
            batch.pieces.push(piece);
        }
        if pos < block.len() {
            self.rest = Some((Arc::clone(&block), pos));
        }
        batch.blocks.push(block);
    }
}

impl Batch {
    /// Each line of `piece` with its number.
    fn each_line<'a>(&'a self, piece: &Piece, mut f: impl FnMut(u64, &'a [u8])) {
        let block = &self.blocks[piece.block];
        if block.is_empty() {
            return f(piece.first, OVERLONG);
        }
        let mut n = piece.first;
        let mut pos = piece.start;
        while pos < piece.end {
            let text = &block[pos..piece.end];
            let end = memchr::memchr(b'\n', text).map_or(text.len(), |i| i + 1);
            f(n, &text[..end]);
            n += 1;
            pos += end;
        }
    }

    /// Every line with its number.
    fn lines(&self) -> Vec<(u64, &[u8])> {
        let mut lines = Vec::with_capacity(self.lines);
        for piece in &self.pieces {
            self.each_line(piece, |n, line| lines.push((n, line)));
        }
        lines
    }
}

/// How input lines are read and answered.
struct Lines {
    /// The rule-set version to name in each verdict, if asked.
    version: Option<String>,
    max_line: usize,
    mask: bool,
}

/// A stateless batch scored piece by piece: each piece is its own job, queued first in first
/// out, so the workers take the pieces of one batch before those of the next and never wait
/// inside a batch (a `par_iter` per batch would have a worker that finished its half steal
/// the next batch while joining, and the batch end only when that one did: every batch in
/// flight then ends together, and the workers wait while this thread writes).
struct Pieces {
    engine: Engine,
    batch: Batch,
    how: Lines,
    /// The rendered verdicts of each piece, as its job finishes.
    done: Box<[std::sync::Mutex<Vec<u8>>]>,
    /// Pieces not finished yet: the job that finishes the last sends the batch's verdicts.
    left: AtomicUsize,
    /// Dropped unsent only if a piece panicked: the waiting thread then sees the channel
    /// closed, and the scope passes the panic on.
    tx: std::sync::Mutex<Option<std::sync::mpsc::SyncSender<Rendered>>>,
}

impl Pieces {
    fn spawn<'s>(
        s: &rayon::ScopeFifo<'s>,
        engine: Engine,
        batch: Batch,
        how: Lines,
        tx: std::sync::mpsc::SyncSender<Rendered>,
    ) {
        let n = batch.pieces.len();
        let pieces = Arc::new(Pieces {
            engine,
            batch,
            how,
            done: (0..n).map(|_| std::sync::Mutex::new(Vec::new())).collect(),
            left: AtomicUsize::new(n),
            tx: std::sync::Mutex::new(Some(tx)),
        });
        if n == 0 {
            pieces.send();
        }
        for i in 0..n {
            let pieces = Arc::clone(&pieces);
            s.spawn_fifo(move |_| pieces.score(i));
        }
    }

    fn score(&self, i: usize) {
        let mut scanner = self.engine.scanner();
        let mut text = Vec::with_capacity(CHUNK * 128);
        self.batch.each_line(&self.batch.pieces[i], |line_no, line| match parse(line, self.how.max_line) {
            Ok(event) => {
                let mut verdict = scanner.scan(&event);
                if self.how.mask {
                    verdict.mask_personal_data();
                }
                write_verdict(&mut text, &verdict, self.how.version.as_deref())
            }
            Err(message) => write_error(&mut text, line_no, &message),
        });
        *self.done[i].lock().unwrap_or_else(|e| e.into_inner()) = text;
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.send();
        }
    }

    /// Sends the verdicts of every piece, in order.
    fn send(&self) {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let rendered = self
            .done
            .iter()
            .map(|d| std::mem::take(&mut *d.lock().unwrap_or_else(|e| e.into_inner())))
            .collect();
        if let Some(tx) = tx {
            // Nobody listens only when writing failed.
            let _ = tx.send((rendered, None));
        }
    }
}

/// Scores a batch through the monitor: lines parsed in parallel, the events observed in input
/// order, the verdicts and error records rendered in parallel.
fn observe(monitor: &mut Monitor, batch: &[(u64, &[u8])], how: &Lines) -> Vec<Vec<u8>> {
    let parsed: Vec<Result<Event, String>> =
        batch.par_iter().with_min_len(CHUNK).map(|(_, line)| parse(line, how.max_line)).collect();
    let mut events = Vec::with_capacity(parsed.len());
    let mut errors = Vec::new();
    for (p, (line_no, _)) in parsed.into_iter().zip(batch) {
        match p {
            Ok(e) => events.push(e),
            Err(message) => errors.push((*line_no, events.len(), message)),
        }
    }
    let mut verdicts = monitor.observe_batch(&events);
    if how.mask {
        verdicts.par_iter_mut().filter(|v| !v.hits.is_empty()).for_each(Verdict::mask_personal_data);
    }
    // Error records go back in their place: before the event that followed them.
    let mut lines: Vec<Result<&Verdict, (u64, &str)>> = Vec::with_capacity(batch.len());
    let mut pending = errors.iter().peekable();
    for (i, v) in verdicts.iter().enumerate() {
        while let Some((line_no, _, message)) = pending.next_if(|e| e.1 == i) {
            lines.push(Err((*line_no, message)));
        }
        lines.push(Ok(v));
    }
    for (line_no, _, message) in pending {
        lines.push(Err((*line_no, message)));
    }
    let out = lines
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut text = Vec::with_capacity(chunk.len() * 128);
            for line in chunk {
                match line {
                    Ok(v) => write_verdict(&mut text, v, how.version.as_deref()),
                    Err((line_no, message)) => write_error(&mut text, *line_no, message),
                }
            }
            text
        })
        .collect();
    drop(lines);
    // An event is a tree of small allocations: freeing a batch of them on one thread would be
    // a serial step as long as parsing them was.
    rayon::join(|| events.into_par_iter().for_each(drop), || verdicts.into_par_iter().for_each(drop));
    out
}

/// The stand-in for a line over the limit: no real line is empty (an empty line still has
/// its newline).
const OVERLONG: &[u8] = &[];

/// Reads one input line as an event, or says why it cannot be read.
fn parse(raw: &[u8], max_line: usize) -> Result<Event, String> {
    if raw.is_empty() {
        return Err(Event::overlong(max_line).to_string());
    }
    Event::from_line(raw).map_err(|e| e.to_string())
}

fn write_verdict(out: &mut Vec<u8>, verdict: &Verdict, version: Option<&str>) {
    // Writing JSON into a Vec cannot fail.
    let _ = match version {
        None => serde_json::to_writer(&mut *out, verdict),
        Some(rules) => serde_json::to_writer(&mut *out, &Versioned { verdict, rules }),
    };
    out.push(b'\n');
}

fn write_error(out: &mut Vec<u8>, line: u64, error: &str) {
    let _ = serde_json::to_writer(&mut *out, &LineError { line, error });
    out.push(b'\n');
}

/// The record in place of a line that cannot be read, fields in the contract's order.
#[derive(serde::Serialize)]
struct LineError<'a> {
    line: u64,
    error: &'a str,
}

/// A verdict with the rule-set version that scored it.
#[derive(serde::Serialize)]
struct Versioned<'a> {
    #[serde(flatten)]
    verdict: &'a Verdict,
    rules: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input that comes at most `most` bytes a read, as from a pipe written slowly.
    struct Chunked {
        input: Vec<u8>,
        at: usize,
        most: usize,
    }

    impl Read for Chunked {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.most).min(self.input.len() - self.at);
            buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// A writer that takes a few bytes a call, and is interrupted every other call.
    struct Trickle {
        out: Vec<u8>,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls % 2 == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(7);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn vectored_writes_that_stop_short_write_everything_in_order() {
        let buffers: Vec<Vec<u8>> = ["{\"a\":1}\n", "", "{\"b\":22}\n{\"c\":3}\n", "x"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let mut w = Trickle { out: Vec::new(), calls: 0 };
        write_all_vectored(&mut w, &buffers).unwrap();
        assert_eq!(w.out, buffers.concat());
        assert!(w.calls > 6, "{} calls", w.calls);
    }

    /// Lines cut across reads at every place, a last line without a newline, CRLF, an empty
    /// line and a line that is not UTF-8: whatever the reader's buffer size, every line gets
    /// exactly one result, in order, the same as with one big buffer; and no batch is larger
    /// than asked, however many lines one read brings.
    #[test]
    fn lines_cut_across_reads_each_get_one_result_in_order() {
        let mut input = Vec::new();
        for i in 0..40 {
            input.extend_from_slice(
                format!("{{\"kind\":\"message\",\"id\":\"m{i}\",\"text\":\"老板先出票{i}\"}}").as_bytes(),
            );
            input.extend_from_slice(if i % 7 == 3 { b"\r\n" } else { b"\n" });
            if i % 13 == 5 {
                input.extend_from_slice(b"\n\xff\xfe\n");
            }
        }
        input.extend_from_slice(b"{\"kind\":\"message\",\"id\":\"last\",\"text\":\"x\"}");
        let live = Arc::new(LiveEngine::new(Engine::bundled().unwrap()));
        let run = |capacity: usize, batch: usize| {
            let reader = Chunked { input: input.clone(), at: 0, most: capacity };
            let options = PipelineOptions { threads: 2, batch, ..PipelineOptions::default() };
            let mut out = Vec::new();
            let mut seen = 0;
            let n = Pipeline::new(Arc::clone(&live), options)
                .run(reader, &mut out, |p| {
                    assert!(
                        p.lines - seen <= batch as u64,
                        "a batch of {} lines over {batch}",
                        p.lines - seen
                    );
                    seen = p.lines;
                })
                .unwrap();
            (n, String::from_utf8(out).unwrap())
        };
        let (n, whole) = run(1 << 16, 8192);
        let lines: Vec<&str> = whole.lines().collect();
        assert_eq!(n as usize, lines.len());
        assert_eq!(lines.len(), 40 + 3 * 2 + 1);
        assert!(lines[0].starts_with("{\"id\":\"m0\""));
        assert!(lines.last().unwrap().starts_with("{\"id\":\"last\""));
        assert!(whole.contains("\"error\":\"empty line\""));
        assert!(whole.contains("\"error\":\"invalid UTF-8 at byte 1\""));
        for (capacity, batch) in [(1, 1), (3, 2), (17, 5), (64, 1000), (1 << 16, 3)] {
            assert_eq!(run(capacity, batch), (n, whole.clone()), "reads of {capacity} bytes, batch {batch}");
        }
    }

    /// Lines longer than a read, within the limit: the reader's buffer grows to hold them,
    /// whatever the size of the reads, and they are scored whole.
    #[test]
    fn lines_longer_than_a_read_are_read_whole() {
        let lengths = [10, 200_000, 70_000, 5, 65_536, 65_535];
        let mut input = String::new();
        for (i, &len) in lengths.iter().enumerate() {
            input.push_str(&format!(
                "{{\"kind\":\"message\",\"id\":\"m{i}\",\"text\":\"老板先出票{}\"}}\n",
                "x".repeat(len)
            ));
        }
        let live = Arc::new(LiveEngine::new(Engine::bundled().unwrap()));
        let run = |most: usize| {
            let reader = Chunked { input: input.clone().into_bytes(), at: 0, most };
            let options = PipelineOptions { threads: 2, stateful: false, ..PipelineOptions::default() };
            let mut out = Vec::new();
            Pipeline::new(Arc::clone(&live), options).run(reader, &mut out, |_| {}).unwrap();
            String::from_utf8(out).unwrap()
        };
        let whole = run(usize::MAX);
        let lines: Vec<&str> = whole.lines().collect();
        assert_eq!(lines.len(), lengths.len());
        for (i, line) in lines.iter().enumerate() {
            assert!(line.starts_with(&format!("{{\"id\":\"m{i}\",\"level\":\"warn\"")), "{line}");
        }
        for most in [1000, 4096, 65_536, 100_000] {
            assert_eq!(run(most), whole, "reads of {most} bytes");
        }
    }

    /// Lines over the limit, wherever the reads cut them (inside one read, across many, the
    /// last line without a newline), each get one error naming their line number; a line at
    /// the limit exactly is read; the other lines are untouched.
    #[test]
    fn lines_over_the_limit_are_skipped_with_one_error_each() {
        let event = |id: &str, pad: usize| {
            let head = format!("{{\"kind\":\"message\",\"id\":\"{id}\",\"text\":\"老板先出票");
            // `pad` bytes in all, `x` filling the text up to that.
            let fill = pad - head.len() - 2;
            format!("{head}{}\"}}", "x".repeat(fill))
        };
        let limit = 100;
        let lengths = [70, 101, 100, 3000, 60, 250, 99, 101];
        let mut input = String::new();
        for (i, &len) in lengths.iter().enumerate() {
            input.push_str(&event(&format!("m{i}"), len));
            input.push('\n');
        }
        input.push_str(&event("tail", 500));
        let live = Arc::new(LiveEngine::new(Engine::bundled().unwrap()));
        let run = |capacity: usize, batch: usize, stateful: bool| {
            let reader = Chunked { input: input.clone().into_bytes(), at: 0, most: capacity };
            let options = PipelineOptions {
                threads: 2,
                batch,
                stateful,
                max_line_bytes: limit,
                ..PipelineOptions::default()
            };
            let mut out = Vec::new();
            Pipeline::new(Arc::clone(&live), options).run(reader, &mut out, |_| {}).unwrap();
            String::from_utf8(out).unwrap()
        };
        let whole = run(1 << 16, 8192, true);
        let lines: Vec<&str> = whole.lines().collect();
        assert_eq!(lines.len(), lengths.len() + 1, "{whole}");
        for (i, &len) in lengths.iter().enumerate() {
            if len > limit {
                let want = format!(
                    "{{\"line\":{},\"error\":\"the line is longer than the limit of 100 bytes\"}}",
                    i + 1
                );
                assert_eq!(lines[i], want);
            } else {
                assert!(lines[i].starts_with(&format!("{{\"id\":\"m{i}\"")), "{}", lines[i]);
            }
        }
        assert!(lines[8].starts_with("{\"line\":9,\"error\":\"the line is longer"), "{}", lines[8]);
        for (capacity, batch, stateful) in
            [(1, 1, true), (7, 2, false), (64, 3, true), (99, 1000, false), (4096, 2, true)]
        {
            assert_eq!(run(capacity, batch, stateful), whole, "reads of {capacity} bytes, batch {batch}");
        }
    }
}
