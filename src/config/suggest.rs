//! "Did you mean" suggestions by edit distance.

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let (best, dist) = candidates
        .into_iter()
        .map(|c| (c, levenshtein(word, c)))
        .min_by_key(|&(_, d)| d)?;
    let limit = (word.chars().count() / 3).max(2);
    (dist <= limit).then_some(best)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["epochs", "batch_size", "seed"];
        assert_eq!(closest("epoch", keys), Some("epochs"));
        assert_eq!(closest("batchsize", keys), Some("batch_size"));
        assert_eq!(closest("completely_else", keys), None);
    }
}
