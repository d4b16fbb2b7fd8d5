//! Depth and complexity, checked once validation has measured them: a document over
//! either is refused with QUERY_TOO_COMPLEX, chosen here by what was measured, never by
//! reading the engine's message.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationResult};

use super::error::{Code, refusal, server_error};

/// The deepest selection and the most weighted fields one document may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Deepest selection.
    pub depth: usize,
    /// Most fields, weighted.
    pub complexity: usize,
}

impl Bounds {
    /// The refusal of a document measured as `measured`, if it is over a bound.
    fn check(&self, measured: &ValidationResult) -> Result<(), String> {
        if measured.complexity > self.complexity {
            return Err(format!(
                "the query is too complex: it weighs {}, the limit is {}",
                measured.complexity, self.complexity
            ));
        }
        if measured.depth > self.depth {
            return Err(format!(
                "the query is nested too deep: {} levels, the limit is {}",
                measured.depth, self.depth
            ));
        }
        Ok(())
    }
}

impl ExtensionFactory for Bounds {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for Bounds {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let measured = next.run(ctx).await?;
        self.check(&measured)
            .map_err(|message| vec![server_error(refusal(Code::QueryTooComplex, message))])?;
        Ok(measured)
    }
}
