//! Scanning a message that hits nothing allocates nothing once the scanner is warm.
//!
//! Its own test binary because it installs a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn clean_messages_do_not_allocate() {
    let engine = fanzha::Engine::bundled().unwrap();
    let mut scanner = engine.scanner();
    let texts = [
        "今天天气不错，来两份酸辣粉",
        "老細，呢度幾錢？",
        "頭家，一碗扁食偌濟箍？",
        "帮我机选五注双色球，谢谢老板",
        "ok thanks, see you tomorrow",
    ];
    // Warm up: buffers grow to the longest message.
    for t in texts {
        assert!(scanner.scan_text(t).hits.is_empty(), "{t} should hit nothing");
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..100 {
        for t in texts {
            std::hint::black_box(scanner.scan_text(t));
        }
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "allocations while scanning clean messages");
}
