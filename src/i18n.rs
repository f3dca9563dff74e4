//! The translation catalog. English is built in; a co-op adds a language by
//! dropping `xx.toml` (same keys as `locales/en.toml`) into `locales_dir`, no
//! code change. The language is chosen from the browser's Accept-Language,
//! falling back to the co-op's default language, then English. A key missing
//! from a catalog falls back to English.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

const BUILT_IN_EN: &str = include_str!("../locales/en.toml");

type Catalog = HashMap<String, String>;

#[derive(Clone)]
pub struct Catalogs {
    by_lang: Arc<HashMap<String, Arc<Catalog>>>,
    english: Arc<Catalog>,
}

/// The catalog chosen for one request.
#[derive(Clone)]
pub struct Tr {
    pub lang: String,
    catalog: Arc<Catalog>,
    english: Arc<Catalog>,
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalog) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => flatten(&key, t, out),
            _ => {}
        }
    }
}

fn parse(text: &str, name: &str) -> Result<Catalog, String> {
    let table: toml::Table = toml::from_str(text)
        .map_err(|e| format!("the translation file {name} is not valid TOML: {}", e.message()))?;
    let mut out = Catalog::new();
    flatten("", &table, &mut out);
    Ok(out)
}

impl Catalogs {
    /// English plus every `*.toml` in `dir` (a missing folder is fine).
    pub fn load(dir: &Path) -> Result<Catalogs, String> {
        let english = Arc::new(parse(BUILT_IN_EN, "en.toml (built in)")?);
        let mut by_lang: HashMap<String, Arc<Catalog>> = HashMap::new();
        by_lang.insert("en".into(), english.clone());
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                    continue;
                }
                let Some(lang) = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .map(str::to_ascii_lowercase)
                else {
                    continue;
                };
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read the translation file {}: {e}", path.display()))?;
                let mut catalog = parse(&text, &path.display().to_string())?;
                let unknown: Vec<_> = catalog
                    .keys()
                    .filter(|k| !english.contains_key(*k))
                    .cloned()
                    .collect();
                for k in &unknown {
                    catalog.remove(k);
                }
                if !unknown.is_empty() {
                    tracing::warn!(file = %path.display(), keys = ?unknown, "translation keys not in the English catalog are ignored");
                }
                tracing::info!(%lang, keys = catalog.len(), "translation loaded");
                // A co-op's en.toml overrides the built-in wording key by key.
                if lang == "en" {
                    let mut merged = (*english).clone();
                    merged.extend(catalog);
                    by_lang.insert(lang, Arc::new(merged));
                } else {
                    by_lang.insert(lang, Arc::new(catalog));
                }
            }
        }
        let english = by_lang.get("en").cloned().unwrap_or(english);
        Ok(Catalogs {
            by_lang: Arc::new(by_lang),
            english,
        })
    }

    pub fn languages(&self) -> Vec<String> {
        let mut v: Vec<_> = self.by_lang.keys().cloned().collect();
        v.sort();
        v
    }

    /// Picks the best language for an Accept-Language header.
    pub fn pick(&self, accept_language: Option<&str>, default_lang: &str) -> Tr {
        let mut wanted: Vec<(f32, String)> = accept_language
            .unwrap_or("")
            .split(',')
            .filter_map(|part| {
                let mut it = part.trim().split(';');
                let tag = it.next()?.trim().to_ascii_lowercase();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                    .unwrap_or(1.0);
                let primary = tag.split('-').next()?.to_string();
                (!primary.is_empty() && primary != "*").then_some((q, primary))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let lang = wanted
            .iter()
            .map(|(_, l)| l.as_str())
            .chain([default_lang, "en"])
            .find(|l| self.by_lang.contains_key(*l))
            .unwrap_or("en")
            .to_string();
        let catalog = self
            .by_lang
            .get(&lang)
            .cloned()
            .unwrap_or_else(|| self.english.clone());
        Tr {
            lang,
            catalog,
            english: self.english.clone(),
        }
    }
}

impl Tr {
    /// The text for a key; the key itself if even English lacks it, so that a
    /// missing string shows up on the page instead of failing it.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.catalog
            .get(key)
            .or_else(|| self.english.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// The text with `{name}` placeholders filled in.
    pub fn fill(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.get(key).to_string();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_in_catalog_is_used_and_falls_back_to_english() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fr.toml"), "[login]\ntitle = \"Connexion\"\n").unwrap();
        let c = Catalogs::load(dir.path()).unwrap();
        let fr = c.pick(Some("fr-FR,fr;q=0.9,en;q=0.8"), "en");
        assert_eq!(fr.lang, "fr");
        assert_eq!(fr.get("login.title"), "Connexion");
        let en = c.pick(None, "en");
        assert_ne!(en.get("login.title"), "Connexion");
        // A key the French file lacks comes from English.
        assert_eq!(fr.get("login.submit"), en.get("login.submit"));
        // q-values are honoured, unknown languages skipped.
        assert_eq!(c.pick(Some("de, en;q=0.5, fr;q=0.7"), "en").lang, "fr");
        assert_eq!(c.pick(Some("de"), "fr").lang, "fr");
    }

    #[test]
    fn a_broken_catalog_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("es.toml"), "title = ").unwrap();
        let e = Catalogs::load(dir.path()).err().unwrap();
        assert!(e.contains("es.toml"), "{e}");
    }
}
