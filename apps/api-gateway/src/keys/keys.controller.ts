import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CurrentPrincipal, Principal, RequireScopes } from '@cap/auth';
import {
  ApiKey,
  ApiKeyWithSecret,
  createKeyBody,
  CreateKeyBody,
  keyIdParam,
  listKeysQuery,
  ListKeysQuery,
  ListPage,
  rotateKeyBody,
  RotateKeyBody,
} from '@cap/contracts';
import { ZodPipe } from '../validation/zod.pipe';
import { KeysService } from './keys.service';

@Controller('v1/keys')
export class KeysController {
  constructor(private readonly keys: KeysService) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('keys:write')
  create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(createKeyBody)) body: CreateKeyBody,
  ): Promise<ApiKeyWithSecret> {
    return this.keys.create(principal, body);
  }

  @Get()
  @RequireScopes('keys:read')
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(listKeysQuery)) query: ListKeysQuery,
  ): Promise<ListPage<ApiKey>> {
    return this.keys.list(principal, query);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @RequireScopes('keys:write')
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(keyIdParam)) params: { id: string },
  ): Promise<ApiKey> {
    return this.keys.revoke(principal, params.id);
  }

  @Post(':id/rotate')
  @HttpCode(200)
  @RequireScopes('keys:write')
  rotate(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(keyIdParam)) params: { id: string },
    @Body(new ZodPipe(rotateKeyBody)) body: RotateKeyBody,
  ): Promise<ApiKeyWithSecret> {
    return this.keys.rotate(principal, params.id, body);
  }
}
