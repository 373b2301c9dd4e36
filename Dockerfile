# ftlab in a container: the same scripts/setup.sh as `make setup`, the default models fetched at build
# time (the container then runs offline), a non-root user, the data dir on a volume.
#
#   CPU (default):  docker build -t ftlab .
#   NVIDIA GPU:     docker build -t ftlab:cuda \
#                     --build-arg BASE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 \
#                     --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu126 .
#   run:            docker run -p 8000:8000 -v ftlab-data:/data ftlab      (GPU: add --gpus all)
#
# Machines without Docker Hub or download.pytorch.org (scripts/container_check.sh does this): any
# Debian/Ubuntu base with python3 and python3-venv as BASE, TORCH_SPEC naming a CPU torch the machine
# holds (PIP_FIND_LINKS: a wheel dir mounted at build time) or TORCH_INDEX serves, PIP_INDEX_URL for the
# rest, and PIP_CERT naming a CA bundle mounted at build time (podman build -v HOST:CONTAINER:ro).
ARG BASE=python:3.12-slim-bookworm
FROM ${BASE}

ARG TORCH_SPEC=torch
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# Unset unless given: pip's own defaults then apply.
ARG PIP_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_CERT

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FTLAB_VENV=/opt/ftlab/venv \
    FTLAB_DATA_DIR=/data \
    FTLAB_MODEL_DIR=/opt/ftlab/models \
    PATH=/opt/ftlab/venv/bin:$PATH

# CUDA bases ship without Python; the python:* base already has it.
RUN if ! python3 -c "import venv, ensurepip" 2>/dev/null; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-pip && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --create-home --uid 1000 ftlab \
 && mkdir -p /opt/ftlab /data && chown ftlab:ftlab /opt/ftlab /data

USER ftlab
WORKDIR /opt/ftlab/src
# torch first, from the build's index (CPU wheels unless told otherwise): setup.sh then finds it.
RUN python3 -m venv "$FTLAB_VENV" && pip install -q --upgrade pip \
 && pip install -q --index-url "$TORCH_INDEX" "$TORCH_SPEC"
# The dependencies alone first (read from pyproject.toml), then the optional extras' (e.g. EXTRAS=ray for
# deploy/compose.yaml's Ray nodes): a code change then rebuilds only the layers below, in seconds.
COPY --chown=ftlab:ftlab pyproject.toml scripts/list_deps.py ./
RUN python3 list_deps.py >/tmp/deps.txt && pip install -q -r /tmp/deps.txt
ARG EXTRAS=
RUN if [ -n "$EXTRAS" ]; then python3 list_deps.py $(echo "$EXTRAS" | tr , ' ') >/tmp/deps.txt \
      && pip install -q -r /tmp/deps.txt; fi
COPY --chown=ftlab:ftlab . .
RUN scripts/setup.sh && if [ -n "$EXTRAS" ]; then pip install -q -e ".[$EXTRAS]"; fi

# Everything the lesson needs is in the image now; never reach a model hub at run time.
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"
# Exec form: ftlab is PID 1 and gets the engine's SIGTERM itself (uvicorn stops on it).
STOPSIGNAL SIGTERM
CMD ["ftlab", "serve", "--host", "0.0.0.0", "--port", "8000"]
