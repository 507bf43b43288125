"""Enterprise customers' single sign-on: their reviewed tenant files and the checks that read them."""
