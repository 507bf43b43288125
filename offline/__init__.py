"""The offline engine: run the real program under the SDK's mock runtime and record its graph."""
