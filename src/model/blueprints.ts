/**
 * @module The system blueprints: the default one, an audio room and a video room.
 *
 * Blueprints are the roots of cloning trees (RFC 5239 §7.1). They never hold passwords. Media
 * labels are numbers because the RFC 6501 grammar types them so.
 */
import { NS } from '../xml/namespaces.ts';

export interface BlueprintDefinition {
  /** Object part of the XCON-URI (`xcon:<id>@<domain>`). */
  id: string;
  purpose: string;
  /** Document body (children of conference-info), using the prefixes info: and xcon:. */
  body: string;
}

const media = (label: number, type: string, status = 'sendrecv') =>
  `<info:entry label="${label}"><info:display-text>${type}</info:display-text><info:type>${type}</info:type><info:status>${status}</info:status></info:entry>`;

export const DEFAULT_BLUEPRINT_ID = 'default';

export const SYSTEM_BLUEPRINTS: BlueprintDefinition[] = [
  {
    id: DEFAULT_BLUEPRINT_ID,
    purpose: 'System default conference: audio, video and text chat',
    body:
      '<info:conference-description><info:display-text>Default conference</info:display-text>' +
      '<info:maximum-user-count>100</info:maximum-user-count>' +
      `<info:available-media>${media(1, 'audio')}${media(2, 'video')}${media(3, 'text', 'inactive')}</info:available-media>` +
      '</info:conference-description>' +
      '<info:conference-state><info:active>false</info:active><info:locked>false</info:locked></info:conference-state>' +
      '<info:users><xcon:join-handling>allow</xcon:join-handling><xcon:user-admission-policy>closedAuthenticated</xcon:user-admission-policy></info:users>',
  },
  {
    id: 'AudioRoom',
    purpose: 'Audio conference room with moderated floor control',
    body:
      '<info:conference-description><info:display-text>AudioRoom</info:display-text>' +
      '<info:maximum-user-count>50</info:maximum-user-count>' +
      `<info:available-media>${media(1, 'audio')}</info:available-media>` +
      '</info:conference-description>' +
      '<info:conference-state><info:active>false</info:active></info:conference-state>' +
      '<info:users><xcon:join-handling>allow</xcon:join-handling></info:users>' +
      '<xcon:floor-information><xcon:floor-request-handling>confirm</xcon:floor-request-handling>' +
      '<xcon:conference-floor-policy><xcon:floor id="1"><xcon:media-label>1</xcon:media-label></xcon:floor></xcon:conference-floor-policy>' +
      '</xcon:floor-information>',
  },
  {
    id: 'VideoRoom',
    purpose: 'Video conference room with audio and video',
    body:
      '<info:conference-description><info:display-text>VideoRoom</info:display-text>' +
      '<info:maximum-user-count>25</info:maximum-user-count>' +
      `<info:available-media>${media(1, 'audio')}${media(2, 'video')}</info:available-media>` +
      '</info:conference-description>' +
      '<info:conference-state><info:active>false</info:active></info:conference-state>' +
      '<info:users><xcon:join-handling>allow</xcon:join-handling></info:users>' +
      '<xcon:floor-information><xcon:floor-request-handling>confirm</xcon:floor-request-handling>' +
      '<xcon:conference-floor-policy><xcon:floor id="1"><xcon:media-label>1</xcon:media-label></xcon:floor>' +
      '<xcon:floor id="2"><xcon:media-label>2</xcon:media-label></xcon:floor></xcon:conference-floor-policy>' +
      '</xcon:floor-information>',
  },
];

export function blueprintXml(def: BlueprintDefinition, domain: string): string {
  return (
    `<info:conference-info xmlns:info="${NS.info}" xmlns:xcon="${NS.xcon}" entity="xcon:${def.id}@${domain}">` +
    `${def.body.replace('</info:display-text>', `</info:display-text><info:free-text>${def.purpose}</info:free-text>`)}</info:conference-info>`
  );
}
