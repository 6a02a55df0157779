//! The crate's one sort. Each `sort_unstable` instance is 2–3 KB of Wasm, one per element type
//! (`make size`); the few sorts here (all while compiling a configuration) share one instance,
//! over indices.

use alloc::vec::Vec;
use core::cmp::Ordering;

/// Sorts `v` by `cmp` (not stable: equal elements may be reordered).
pub fn sort_by<T>(v: &mut Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) {
    let order = {
        let items: &[T] = v;
        indices(items.len(), &|a, b| match (items.get(a), items.get(b)) {
            (Some(x), Some(y)) => cmp(x, y),
            _ => Ordering::Equal,
        })
    };
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(
        order
            .into_iter()
            .filter_map(|i| slots.get_mut(i).and_then(Option::take)),
    );
}

/// `0..n` ordered by `cmp`: the one instance of the standard library's sort.
fn indices(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| cmp(a, b));
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::{String, ToString};
    use alloc::vec;

    #[test]
    fn sorts_like_the_standard_library() {
        // A deterministic scramble with duplicates, of several lengths.
        for n in [0usize, 1, 2, 3, 17, 100, 1000] {
            let mut v: Vec<(String, u16)> = (0..n)
                .map(|i| (((i * 7919) % 101).to_string(), (i % 5) as u16))
                .collect();
            let mut want = v.clone();
            want.sort();
            sort_by(&mut v, |a, b| a.cmp(b));
            assert_eq!(v, want, "n = {n}");
        }
        let mut words = vec!["b", "a", "c", "a"];
        sort_by(&mut words, |a, b| b.cmp(a));
        assert_eq!(words, ["c", "b", "a", "a"]);
    }
}
