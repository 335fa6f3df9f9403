//! The trait methods `RedisCached` only passes to the durable store,
//! generated: [`wrap!`] writes an `impl Trait for RedisCached<S>` whose
//! `pass { … }` methods call the same method of `inner`, followed by the
//! methods written out by hand (those that cache, count or announce).

/// `wrap! { impl Trait { pass { fn m(&self, a: A) -> R; … } hand-written … } }`
macro_rules! wrap {
    (impl $trait:ident {
        pass {
            $($(#[$meta:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;)*
        }
        $($own:tt)*
    }) => {
        #[async_trait::async_trait]
        impl<S: $crate::Store + ?Sized> $trait for RedisCached<S> {
            $(
                $(#[$meta])*
                async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    self.inner.$name($($arg),*).await
                }
            )*
            $($own)*
        }
    };
}
