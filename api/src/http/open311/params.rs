//! Open311's parameters, from the query string or a form-encoded body: an empty value
//! counts as absent, an unknown name is ignored, lists are comma-separated, datetimes
//! are W3C (RFC 3339) with an offset. A value that cannot be read is BAD_USER_INPUT on
//! its own name, never silently ignored.

use chrono::{DateTime, Utc};
use mati_domain::{DomainError, DomainResult};

/// The parameters of one request.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// From form-encoded text (a query string or a body); later sources add to it.
    pub fn parse(encoded: &str) -> Self {
        let mut params = Self::default();
        params.add(encoded);
        params
    }

    /// Adds the pairs of more form-encoded text.
    pub fn add(&mut self, encoded: &str) {
        self.0.extend(
            form_urlencoded::parse(encoded.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.trim().to_owned()))
                .filter(|(_, value)| !value.is_empty()),
        );
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The items of a comma-separated list, without empty ones.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A W3C datetime with an offset, e.g. `2026-11-29T14:05:00+07:00`.
    pub fn datetime(&self, name: &str) -> DomainResult<Option<DateTime<Utc>>> {
        self.get(name)
            .map(|raw| {
                // A `+` of the offset sent unencoded in a query string arrives as a space.
                let repaired = raw.rfind(' ').map(|at| format!("{}+{}", &raw[..at], &raw[at + 1..]));
                DateTime::parse_from_rfc3339(raw)
                    .or_else(|err| repaired.as_deref().map_or(Err(err), DateTime::parse_from_rfc3339))
                    .map(|at| at.with_timezone(&Utc))
                    .map_err(|_| {
                        DomainError::invalid(
                            name,
                            "must be a W3C datetime with an offset, e.g. 2026-11-29T14:05:00+07:00",
                            "កាលបរិច្ឆេទមិនត្រឹមត្រូវ",
                        )
                    })
            })
            .transpose()
    }

    /// A finite decimal number.
    pub fn number(&self, name: &str) -> DomainResult<Option<f64>> {
        self.get(name)
            .map(|raw| {
                raw.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| DomainError::invalid(name, "must be a decimal number", "ត្រូវតែជាលេខ"))
            })
            .transpose()
    }

    /// A whole number from 1 to `max`.
    pub fn count(&self, name: &str, max: u64) -> DomainResult<Option<u64>> {
        self.get(name)
            .map(|raw| {
                raw.parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        DomainError::invalid(name, &format!("must be a whole number from 1 to {max}"), "ត្រូវតែជាលេខគត់")
                    })
            })
            .transpose()
    }

    /// `true` or `false` (any case); absent is `None`.
    pub fn flag(&self, name: &str) -> DomainResult<Option<bool>> {
        self.get(name)
            .map(|raw| match raw.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(DomainError::invalid(
                    name,
                    "must be true or false",
                    "ត្រូវតែជា true ឬ false",
                )),
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_absent_and_lists_split_on_commas() {
        let params = Params::parse("status=&service_code=LOCAL_ROADS,%20HEALTH,,&page=2&unknown=x");
        assert_eq!(params.get("status"), None);
        assert_eq!(params.list("service_code"), ["LOCAL_ROADS", "HEALTH"]);
        assert_eq!(params.count("page", 10).ok().flatten(), Some(2));
        assert!(params.list("status").is_empty());
    }

    #[test]
    fn datetimes_need_an_offset() {
        let params = Params::parse(
            "a=2026-11-29T14:05:00%2B07:00&b=2026-11-29T07:05:00Z&c=2026-11-29&d=yesterday&e=2026-11-29T14:05:00+07:00",
        );
        let a = params.datetime("a").ok().flatten();
        assert_eq!(a, params.datetime("b").ok().flatten());
        assert_eq!(
            a,
            params.datetime("e").ok().flatten(),
            "an unencoded + is read as the offset's"
        );
        assert!(a.is_some());
        for bad in ["c", "d"] {
            assert!(matches!(params.datetime(bad), Err(DomainError::InvalidInput { ref field, .. }) if field == bad));
        }
    }

    #[test]
    fn numbers_and_counts_are_checked() {
        let params = Params::parse("lat=11.5&long=NaN&page_size=0&big=5000&yes=TRUE&no=maybe");
        assert_eq!(params.number("lat").ok().flatten(), Some(11.5));
        assert!(params.number("long").is_err());
        assert!(params.count("page_size", 1000).is_err());
        assert!(params.count("big", 1000).is_err());
        assert_eq!(params.flag("yes").ok().flatten(), Some(true));
        assert!(params.flag("no").is_err());
    }
}
