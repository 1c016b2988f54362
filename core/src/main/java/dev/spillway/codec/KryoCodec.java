package dev.spillway.codec;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoException;
import com.esotericsoftware.kryo.io.ByteBufferInput;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.Pool;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Object codec on Kryo with registration required: only the classes registered here (through
 * {@link Codecs.Builder#registerKryo} and then {@code spillway.codec.kryo.classes}, in that order) can
 * be written or read, so bytes on disk can never make the reader instantiate an arbitrary class.
 * Registration ids follow registration order; keep it stable while files written with it are read.
 * Kryo instances are not thread-safe, so each call borrows one from a {@link Pool}; only the plain
 * {@code Input/Output} and {@code ByteBufferInput} buffers are used (Kryo's Unsafe buffers fail on JDK
 * 25). As a {@link Codec} it stores its serialized bytes unchanged: the record's codec id says that
 * the payload is a Kryo object, and {@link #deserialize} turns it back.
 */
public final class KryoCodec extends StoredAsIs {
  static final int ID = 2;
  private static final int POOL_SIZE = 64;
  private static final int INITIAL_OUTPUT = 256;

  private final List<Class<?>> classes;
  private final Pool<Kryo> pool;

  KryoCodec(List<Class<?>> classes) {
    this.classes = List.copyOf(classes);
    this.pool = new Pool<>(/* threadSafe= */ true, /* softReferences= */ false, POOL_SIZE) {
      @Override
      protected Kryo create() {
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(true);
        for (Class<?> c : KryoCodec.this.classes) {
          kryo.register(c);
        }
        return kryo;
      }
    };
    release(pool.obtain()); // registers every class once now, so a class Kryo cannot handle fails at start
  }

  /** The registered classes, in registration order. */
  public List<Class<?>> registeredClasses() {
    return classes;
  }

  /** The bytes of {@code value}, whose class (and the classes of its fields) must be registered. */
  public byte[] serialize(Object value) {
    Kryo kryo = pool.obtain();
    try (Output output = new Output(INITIAL_OUTPUT, -1)) {
      kryo.writeClassAndObject(output, value);
      return output.toBytes();
    } catch (IllegalArgumentException e) {
      throw new CodecException("kryo: cannot write a " + (value == null ? "null" : value.getClass().getName())
          + ": " + firstLine(e) + " (registration is required: register the class through"
          + " Codecs.builder().registerKryo(...) or list it in spillway.codec.kryo.classes)", e);
    } catch (KryoException e) {
      throw new CodecException("kryo: cannot write a " + (value == null ? "null" : value.getClass().getName())
          + ": " + firstLine(e), e);
    } finally {
      release(kryo);
    }
  }

  /** The object in {@code bytes}, which must hold exactly one serialized object. */
  public Object deserialize(byte[] bytes) {
    return read(new Input(bytes), bytes.length);
  }

  /** The object in {@code bytes} from position to limit (heap or direct; the position is unchanged). */
  public Object deserialize(ByteBuffer bytes) {
    if (bytes.hasArray()) {
      return read(new Input(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining()),
          bytes.remaining());
    }
    return read(new ByteBufferInput(bytes.slice()), bytes.remaining());
  }

  /** The object in {@code bytes} (for example an off-heap block), read without copying it first. */
  public Object deserialize(MemorySegment bytes) {
    if (bytes.byteSize() > Integer.MAX_VALUE) {
      throw new CodecException("kryo: an object of " + bytes.byteSize() + " bytes is larger than Kryo reads (2 GiB)");
    }
    return deserialize(bytes.asByteBuffer());
  }

  private Object read(Input input, int length) {
    Kryo kryo = pool.obtain();
    try {
      Object value = kryo.readClassAndObject(input);
      if (input.total() != length) {
        throw new CodecException("kryo: " + (length - input.total()) + " trailing bytes after the object"
            + " (the payload must hold exactly one object)");
      }
      return value;
    } catch (KryoException | IllegalArgumentException | IndexOutOfBoundsException e) {
      throw new CodecException("kryo: cannot read an object from " + length + " bytes: " + firstLine(e)
          + " (was it written with the same classes registered in the same order?)", e);
    } finally {
      release(kryo);
    }
  }

  private void release(Kryo kryo) {
    kryo.reset();
    pool.free(kryo);
  }

  private static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  @Override
  public int id() {
    return ID;
  }

  @Override
  public String name() {
    return "kryo";
  }

  @Override
  public String toString() {
    return "kryo(" + classes.size() + " classes)";
  }
}
