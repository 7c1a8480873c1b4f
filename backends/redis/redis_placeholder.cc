// Placeholder: the Redis backend lands with its issue.
namespace stormkv { int redis_placeholder = 0; }
