{{/* The queue service: a ClusterIP Service for clients, a headless one for the StatefulSet. */}}
{{- define "gpu-telemetry.queue" -}}
{{- $c := dict "root" . "component" "queue" -}}
{{- $scheme := ternary "HTTPS" "HTTP" .Values.tls.enabled -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "gpu-telemetry.queueName" . }}
  labels:
    {{- include "gpu-telemetry.componentLabels" $c | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "gpu-telemetry.selector" $c | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.queue.port }}
      targetPort: http
      protocol: TCP
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "gpu-telemetry.queueName" . }}-headless
  labels:
    {{- include "gpu-telemetry.componentLabels" $c | nindent 4 }}
spec:
  clusterIP: None
  # Stable per-pod DNS names even before a replica is Ready.
  publishNotReadyAddresses: true
  selector:
    {{- include "gpu-telemetry.selector" $c | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.queue.port }}
      targetPort: http
      protocol: TCP
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ include "gpu-telemetry.queueName" . }}
  labels:
    {{- include "gpu-telemetry.componentLabels" $c | nindent 4 }}
spec:
  serviceName: {{ include "gpu-telemetry.queueName" . }}-headless
  replicas: {{ .Values.queue.replicas }}
  # Replicas share nothing but the Redis backend; no reason to start them one by one.
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      {{- include "gpu-telemetry.selector" $c | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "gpu-telemetry.componentLabels" $c | nindent 8 }}
      annotations:
        {{- include "gpu-telemetry.podAnnotations" . | nindent 8 }}
    spec:
      {{- include "gpu-telemetry.scheduling" . | nindent 6 }}
      containers:
        - name: queue-service
          image: {{ required "queue.image: name the queue service image with its registry and a version tag or digest" .Values.queue.image | quote }}
          imagePullPolicy: {{ .Values.queue.imagePullPolicy }}
          {{- include "gpu-telemetry.containerSecurity" . | nindent 10 }}
          ports:
            - name: http
              containerPort: {{ .Values.queue.port }}
              protocol: TCP
          env:
            - name: VISIBILITY_TIMEOUT
              value: {{ .Values.queue.visibilityTimeout | quote }}
            - name: MAX_RETRIES
              value: {{ .Values.queue.maxRetries | toString | quote }}
            - name: BUFFER_SIZE
              value: {{ .Values.queue.bufferSize | toString | quote }}
            {{- with include "gpu-telemetry.redisEnv" . }}{{ . | nindent 12 }}{{ end }}
            {{- if .Values.tls.enabled }}
            - name: TLS_CERT_FILE
              value: /etc/gpu-telemetry/tls/tls.crt
            - name: TLS_KEY_FILE
              value: /etc/gpu-telemetry/tls/tls.key
            {{- end }}
          livenessProbe:
            httpGet:
              path: /health
              port: http
              scheme: {{ $scheme }}
            initialDelaySeconds: 10
            periodSeconds: 10
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /health
              port: http
              scheme: {{ $scheme }}
            initialDelaySeconds: 5
            periodSeconds: 5
            failureThreshold: 3
          resources:
            {{- toYaml .Values.queue.resources | nindent 12 }}
          volumeMounts:
            {{- include "gpu-telemetry.tmpMount" . | nindent 12 }}
            {{- if .Values.tls.enabled }}
            - name: tls
              mountPath: /etc/gpu-telemetry/tls
              readOnly: true
            {{- end }}
      volumes:
        {{- include "gpu-telemetry.tmpVolume" . | nindent 8 }}
        {{- if .Values.tls.enabled }}
        - name: tls
          secret:
            secretName: {{ .Values.tls.secretName | quote }}
            items:
              - {key: tls.crt, path: tls.crt}
              - {key: tls.key, path: tls.key}
      {{- end }}
{{- end }}
