//! Model prices for the cost column: a shipped table (`prices.toml`, with its source and date)
//! that a user file overrides. Lookup follows Headroom's PriceBook: the exact id, else the longest
//! stored id contained in the model name; an unknown model is unpriced, never guessed.

use std::path::PathBuf;

use serde::Deserialize;

const SHIPPED: &str = include_str!("prices.toml");

/// USD per million tokens.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Price {
    pub id: String,
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_read: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
struct File {
    #[serde(default)]
    source: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    model: Vec<Price>,
}

#[derive(Debug, Clone)]
pub struct PriceBook {
    pub prices: Vec<Price>,
    /// Where the prices come from, with dates (shipped, then the user file if any).
    pub provenance: String,
}

impl PriceBook {
    /// The table shipped in the binary.
    pub fn shipped() -> PriceBook {
        Self::parse(SHIPPED).expect("shipped prices parse")
    }

    /// The shipped table, with the user's file applied over it when there is one.
    pub fn load() -> PriceBook {
        let mut book = Self::shipped();
        let user = std::env::var_os("CTXLENS_PRICES")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/ctxlens/prices.toml")));
        if let Some(p) = user.filter(|p| p.is_file()) {
            match std::fs::read_to_string(&p)
                .map_err(|e| e.to_string())
                .and_then(|t| Self::parse(&t).map_err(|e| e.to_string()))
            {
                Ok(over) => {
                    for price in over.prices {
                        book.prices.retain(|x| x.id != price.id);
                        book.prices.push(price);
                    }
                    book.provenance = format!("{}; overridden by {}", book.provenance, p.display());
                }
                Err(e) => book.provenance = format!("{}; {} ignored: {e}", book.provenance, p.display()),
            }
        }
        book
    }

    pub fn parse(text: &str) -> Result<PriceBook, toml::de::Error> {
        let f: File = toml::from_str(text)?;
        Ok(PriceBook { prices: f.model, provenance: format!("{} ({})", f.source, f.date) })
    }

    /// The price of a model name, by exact id, then the longest id it contains.
    pub fn find(&self, model: &str) -> Option<&Price> {
        let m = model.to_lowercase();
        let m = m.split(':').next().unwrap_or_default();
        self.prices
            .iter()
            .find(|p| p.id == m)
            .or_else(|| self.prices.iter().filter(|p| m.contains(p.id.as_str())).max_by_key(|p| p.id.len()))
    }
}

/// Cost in USD of `tokens` uncached input tokens.
pub fn input_cost(price: &Price, tokens: usize) -> f64 {
    tokens as f64 * price.input / 1_000_000.0
}

/// USD for `read` tokens read from the prompt cache and `write` written to it, at the model's
/// cache prices (the input price where the table has none).
pub fn cache_cost(price: &Price, read: usize, write: usize) -> f64 {
    let per = |rate: Option<f64>, n: usize| n as f64 * rate.unwrap_or(price.input) / 1_000_000.0;
    per(price.cache_read, read) + per(price.cache_write, write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_contained_id_wins_and_unknowns_stay_unpriced() {
        let b = PriceBook::parse(SHIPPED).unwrap();
        assert_eq!(b.find("claude-sonnet-4-5-20250929").unwrap().id, "claude-sonnet-4-5");
        assert_eq!(b.find("gpt-4o-mini-2024-07-18").unwrap().id, "gpt-4o-mini");
        assert_eq!(b.find("GPT-4o").unwrap().input, 2.5);
        assert!(b.find("claude").is_none());
        assert!(b.find("llama-3").is_none());
        assert!((input_cost(b.find("gpt-5").unwrap(), 1_000_000) - 1.25).abs() < 1e-9);
        assert!(b.provenance.contains("2026-11-26"));
    }
}
