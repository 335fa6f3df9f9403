//! Wrappers around a store (`RedisCached`, `Circuit`) implement every
//! trait method; most of them only hand the call to the wrapped store.
//! [`delegate!`] writes those: an `impl Trait for Wrapper` whose `pass { … }`
//! methods call the same method of `self.inner` through the wrapper's
//! `via` method (which may add a guard, such as the circuit breaker),
//! followed by the methods written out by hand.

/// `delegate! { impl[GENERICS] Trait for Type, via method { pass { fn m(&self, a: A) -> R; … } hand-written … } }`
macro_rules! delegate {
    (impl[$($gen:tt)*] $trait:ident for $ty:ty, via $via:ident {
        pass {
            $($(#[$meta:meta])* fn $name:ident(&self $(, $arg:ident: $argty:ty)* $(,)?) -> $ret:ty;)*
        }
        $($own:tt)*
    }) => {
        #[async_trait::async_trait]
        impl<$($gen)*> $trait for $ty {
            $(
                $(#[$meta])*
                async fn $name(&self $(, $arg: $argty)*) -> $ret {
                    self.$via(self.inner.$name($($arg),*)).await
                }
            )*
            $($own)*
        }
    };
}
