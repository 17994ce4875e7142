"""Reading and writing safetensors files of float32 tensors, for the tools in this folder.

    from safetensors_io import read, write
    metadata, tensors = read(path)    # metadata: dict of strings; tensors: name -> numpy array
    write(path, metadata, tensors)    # in the order of the dict
    metadata = with_training_notes(metadata, 'what this file is')   # a copy, for a derived model

Needs numpy only.
"""
import json, struct
import numpy as np

def read(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, v in header.items():
        if name == '__metadata__':
            continue
        assert v['dtype'] == 'F32', (path, name, v['dtype'])
        a, b = v['data_offsets']
        tensors[name] = np.frombuffer(data[a:b], dtype='<f4').reshape(v['shape'])
    return header.get('__metadata__', {}), tensors

def write(path, metadata, tensors):
    header, blobs, offset = {'__metadata__': metadata}, [], 0
    for name, t in tensors.items():
        b = np.ascontiguousarray(t, dtype='<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b); offset += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))

def with_training_notes(metadata, notes):
    """A copy of a model file's metadata whose training record (if it has one) carries these notes."""
    info = json.loads(metadata['enhance.model'])
    if info.get('training'):
        info['training']['notes'] = notes
    return dict(metadata, **{'enhance.model': json.dumps(info, sort_keys=True)})
