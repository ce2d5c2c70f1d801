using System.Text.Json;

namespace Diffusion.Models.Internal;

/// <summary>
/// One <c>config.json</c> key of a configuration record <typeparamref name="T"/>: the value written for it, and the
/// record with a read value set. A config's keys form one table that <see cref="ModelConfigJson"/> both reads and
/// writes, so a key is declared once.
/// </summary>
/// <typeparam name="T">The configuration record.</typeparam>
/// <param name="Name">The snake_case key.</param>
/// <param name="Get">The value to write (a number, bool, string, enum, list or null).</param>
/// <param name="Set">The record with the key's JSON value read into it (key name, value); throws
/// <see cref="InvalidDataException"/> for a value of the wrong type.</param>
internal sealed record ConfigKey<T>(string Name, Func<T, object?> Get, Func<T, string, JsonElement, T> Set);
