// Keeps the stormkv_gateway target non-empty while the gateway grows.
namespace stormkv { int gateway_placeholder = 0; }
